"""Screenshots of the desktop client's main views on the demo company, for the README.

    xvfb-run -a .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

Builds the demo company in a temporary database, runs its month-end (draft journals to
review), opens the client and writes one PNG per view with QWidget.grab(). Runs under Xvfb
(as above) or with QT_QPA_PLATFORM=offscreen when no X server is at hand.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

VIEWS = ("Dashboard", "Inventory", "Reconciliation", "Licences", "Depreciation",
         "Cost pools and rules", "Allocation runs", "Journals", "Audit", "Settings",
         "Reports", "Policy and reviews", "Methodology and costs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    if not os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    folder = Path(tempfile.mkdtemp(prefix="apportion-screenshots-"))
    os.environ["XDG_DATA_HOME"] = str(folder / "xdg")
    os.environ["XDG_CONFIG_HOME"] = str(folder / "config")
    os.environ["APPORTION_USER"] = "dave"  # the demo's controller: approves, posts, closes

    from client.bootstrap import open_app
    from client.demo import demo_period, load_demo, run_month_end
    from ledger.services.users import bootstrap_administrator

    app = open_app(f"sqlite:///{folder / 'demo.db'}", create=True)
    with app.uow() as uow:
        bootstrap_administrator(uow=uow)
        uow.commit()
    load_demo(app)
    run_month_end(app, demo_period(app))

    from PySide6.QtWidgets import QApplication

    from client import gui

    qt_app = gui.application()
    window = gui.main_window(app)
    window.resize(1400, 860)
    window.show()

    def settle(seconds: float = 1.0) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end or window.context.runner.running:
            qt_app.processEvents()
            time.sleep(0.01)

    settle()
    args.out.mkdir(parents=True, exist_ok=True)
    for page in VIEWS:
        view = window.go(page)
        settle()
        if page == "Inventory":
            view.panel.table.selectRow(3)
            view.tabs.setCurrentIndex(2)
        elif page == "Journals":
            view.panel.table.selectRow(0)
        elif page == "Audit":
            view.verify()
        elif page in ("Reconciliation", "Licences"):
            view.table.selectRow(0)
        elif page == "Allocation runs":
            view.runs_table.selectRow(0)
            settle()
            view.centres_table.selectRow(0)
            settle()
            view.items_table.selectRow(0)
        elif page == "Reports":
            view.lines_table.selectRow(0)
        elif page == "Policy and reviews":
            view.reviews_table.selectRow(0)
        elif page == "Methodology and costs":  # the period's methodology, generated
            view.show_tab(view.methodology)
            settle(2.0)
            view.methodology.sections.setCurrentRow(1)
        settle()
        target = args.out / f"{page.lower().replace(' ', '-')}.png"
        window.grab().save(str(target))
        print(f"wrote {target}")
    window.close()
    window.context.runner.shutdown(wait=True)
    app.close()
    QApplication.processEvents()


if __name__ == "__main__":
    main()
