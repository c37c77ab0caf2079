"""Money as the patient reads it. Amounts are integer minor units (cents) everywhere else."""

SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£"}


def money_display(*, amount: int, currency: str) -> str:
    text = f"{amount // 100:,}.{amount % 100:02d}"
    symbol = SYMBOLS.get(currency.lower())
    return f"{symbol}{text}" if symbol else f"{text} {currency.upper()}"
