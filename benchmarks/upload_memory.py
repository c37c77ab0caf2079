"""Peak memory of sanitising hostile-but-legal uploads: small files whose dimensions sit just
under the pixel cap (they decompress to far more than their size). The files are made in one
process and each is sanitised in a fresh one, so the peak resident memory printed is the
sanitising alone. Prints one line per case.

    .venv/bin/python benchmarks/upload_memory.py
"""

import io
import os
import resource
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _setup() -> None:
    sys.path.insert(0, ROOT)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    import django

    django.setup()


def _make(folder: str) -> list[tuple[str, str]]:
    _setup()
    from PIL import Image

    from core.uploads import pixel_cap

    width = 8000
    files = []
    for fmt in ("PNG", "JPEG"):
        height = (pixel_cap(image_format=fmt) - 1000) // width  # just under the cap
        out = io.BytesIO()
        Image.new("RGB", (width, height), (200, 180, 160)).save(out, format=fmt)
        path = os.path.join(folder, f"under-cap.{fmt.lower()}")
        with open(path, "wb") as handle:
            handle.write(out.getvalue())
        files.append((f"{fmt.lower()} {width}x{height} px", path))
    return files


def _sanitise(label: str, path: str) -> None:
    _setup()
    from django.core.files.uploadedfile import SimpleUploadedFile

    from core.uploads import UploadRejected, upload_sanitize

    with open(path, "rb") as handle:
        data = handle.read()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        result = upload_sanitize(uploaded=SimpleUploadedFile("x", data))
        outcome = f"accepted, stored {result.size // 1024} KB"
    except UploadRejected as exc:
        outcome = f"refused: {exc}"
    grew = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024
    print(f"{label}, file {len(data) // 1024} KB: peak memory grew {grew} MB ({outcome})")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "make":
        for label, path in _make(sys.argv[2]):
            print(f"{label}\t{path}")
    elif len(sys.argv) == 3:
        _sanitise(sys.argv[1], sys.argv[2])
    else:
        with tempfile.TemporaryDirectory() as folder:
            cases = subprocess.run(
                [sys.executable, __file__, "make", folder],
                check=True,
                capture_output=True,
                text=True,
            ).stdout.split("\n")
            for line in filter(None, cases):
                label, path = line.split("\t")
                subprocess.run([sys.executable, __file__, label, path], check=True)
