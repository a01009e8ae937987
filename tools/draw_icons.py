"""Draw opskit's icons into opskit/static/icons/ (run once; the PNG/ICO files are committed).

The picture is a rack on the navigation bar's dark grey: three units, each with a status light
(green, green, orange). Everything sits inside the central 80 % of the square, so the same
picture serves as a "maskable" icon (Android crops it to a circle or a squircle) and as the
iPad's home-screen icon (iPadOS rounds the corners itself: the square is opaque, no
transparency).

Usage (from the repository root; Pillow is a dev dependency):

    python tools/draw_icons.py

Writes favicon.ico (16, 32 and 48 px), apple-touch-icon.png (180 px), icon-192.png and
icon-512.png. opskit serves them itself: /favicon.ico, the manifest (/manifest.webmanifest) and
the links in templates/base.html.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parents[1] / "opskit" / "static" / "icons"
BACKGROUND = "#212529"  # the navigation bar (Bootstrap's bg-dark)
FRAME = "#f8f9fa"
UNIT = "#6c757d"
LIGHTS = ("#198754", "#198754", "#fd7e14")  # up, up, open alert (the topology's colours)
SIZE = 1024  # drawn once large, then scaled down (smooth edges without anti-aliasing code)


def draw(size: int = SIZE) -> Image.Image:
    image = Image.new("RGB", (size, size), BACKGROUND)
    d = ImageDraw.Draw(image)
    s = size / 100  # a 100 x 100 grid
    # the rack: a frame 44 wide and 60 high, centred (inside the maskable safe zone)
    d.rounded_rectangle(
        (28 * s, 20 * s, 72 * s, 80 * s), radius=4 * s, outline=FRAME, width=round(4 * s)
    )
    for i, light in enumerate(LIGHTS):
        top = (28 + i * 16) * s
        d.rounded_rectangle((35 * s, top, 65 * s, top + 11 * s), radius=2 * s, fill=UNIT)
        d.ellipse((56 * s, top + 3 * s, 61 * s, top + 8 * s), fill=light)
        d.rectangle((39 * s, top + 4.5 * s, 51 * s, top + 6.5 * s), fill=FRAME)
    return image


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    big = draw()
    for name, px in (("icon-512.png", 512), ("icon-192.png", 192), ("apple-touch-icon.png", 180)):
        big.resize((px, px), Image.LANCZOS).save(OUT / name, optimize=True)
    # a browser tab is 16 px: the favicon drops the margin the maskable safe zone needs
    edge = round(SIZE * 0.14)
    tab = big.crop((edge, edge, SIZE - edge, SIZE - edge)).resize((256, 256), Image.LANCZOS)
    tab.save(OUT / "favicon.ico", sizes=[(16, 16), (32, 32), (48, 48)])
    for path in sorted(OUT.iterdir()):
        print(f"{path.relative_to(OUT.parents[2])}  {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
