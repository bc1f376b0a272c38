"""Screenshot a page written by `agentsearch view` or `agentsearch report` in headless chromium.

For the README's pictures. Debian's chromium through Playwright (`scripts/install.sh` installs both):

    python scripts/screenshot_page.py runs/ws-sft/view/tree-00003.html docs/headline-tree.png --click 2
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", type=Path, help="an HTML page of the viewer")
    parser.add_argument("out", type=Path, help="the PNG to write")
    parser.add_argument("--click", type=int, default=None, help="click the N-th node (0: root) first")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=800)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    if executable is None:
        raise SystemExit("chromium is missing (apt-get install -y chromium; scripts/install.sh does it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": args.width, "height": args.height})
        page.goto(args.page.resolve().as_uri())
        if page.locator("script").count():  # a tree page renders itself; a report is plain HTML
            page.wait_for_function("window.__viewerReady !== undefined")
        if args.click is not None:
            page.locator("#tree li[data-node] > .row .label").nth(args.click).click()
        args.out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(args.out))
        browser.close()
    print(args.out)


if __name__ == "__main__":
    main()
