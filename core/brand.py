"""The brand's look, from settings: the stylesheet that carries its colour."""

from django.conf import settings


def _darker(hex_colour: str, factor: float = 0.75) -> str:
    """The hover shade: each channel scaled down, so any brand colour gets a matching one."""
    digits = hex_colour.lstrip("#")
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    channels = (int(digits[i : i + 2], 16) for i in (0, 2, 4))
    return "#" + "".join(f"{int(c * factor):02x}" for c in channels)


def brand_stylesheet() -> str:
    """`:root` custom properties for app.css. BRAND_PRIMARY_COLOR was validated as a hex colour
    when settings loaded, so nothing else can be written into the stylesheet."""
    colour = settings.BRAND_PRIMARY_COLOR.lower()
    return f":root{{--brand:{colour};--brand-dark:{_darker(colour)}}}\n"
