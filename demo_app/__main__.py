"""python -m demo_app [--tour OUT_DIR] [--size WxH] [--data-dir DIR] [--debug]"""
from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import tempfile

PHONE = "360x640"
DESKTOP = "1100x720"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m demo_app", description=__doc__)
    parser.add_argument("--tour", metavar="OUT_DIR",
                        help="walk every screen offscreen; save a PNG of each and the session as a recording")
    parser.add_argument("--size", default=None, metavar="WxH",
                        help=f"window size in pixels (default 400x740; the tour uses {PHONE}, then {DESKTOP})")
    parser.add_argument("--data-dir", default=None,
                        help="where the app keeps its queue and settings (default: the app's user_data_dir; "
                             "the tour uses a fresh temporary folder)")
    parser.add_argument("--debug", action="store_true",
                        help="log at DEBUG (Kivy, the analytics client, urllib3); the default is INFO")
    parser.add_argument("--tour-part", choices=("phone", "desktop", "all"), default="all", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def log_level(debug):
    """INFO unless --debug; set before Kivy loads (it logs while it reads its config)."""
    level = logging.DEBUG if debug else logging.INFO
    logging.getLogger("kivy").setLevel(level)
    if debug:  # asked for: segment_statsig.kivy keeps urllib3 at WARNING otherwise
        logging.getLogger("urllib3").setLevel(level)
    return level


def configure_logging(config, level):
    """After Kivy loaded: its logger set the root logger to NOTSET (everything), so every
    library's DEBUG lines would reach the terminal (urllib3's, one per request)."""
    config.set("kivy", "log_level", logging.getLevelName(level).lower())
    logging.root.setLevel(level)


def main(argv=None):
    args = parse_args(argv)
    # Kivy reads these at import: keep its own argument parser and log file out of the way.
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    if args.tour:
        os.environ.setdefault("SDL_VIDEODRIVER", "offscreen")
        os.environ.setdefault("KIVY_NO_CONFIG", "1")
        os.environ.setdefault("KIVY_NO_FILELOG", "1")
        if os.environ.pop("SEGMENT_STATSIG_DEMO_KEY", None):
            print("--tour runs against the local Statsig stand-in; ignoring SEGMENT_STATSIG_DEMO_KEY",
                  file=sys.stderr)
        if args.tour_part == "all":
            # Kivy's App runs once per process and an offscreen window cannot be resized:
            # the phone walk and the desktop walk are two runs.
            for part, size in (("phone", PHONE), ("desktop", DESKTOP)):
                command = [sys.executable, "-m", "demo_app", "--tour", args.tour, "--tour-part", part,
                           "--size", size] + (["--debug"] if args.debug else [])
                status = subprocess.run(command, timeout=180).returncode
                if status:
                    return status
            print(f"tour: screenshots and the recording are in {os.path.abspath(args.tour)}")
            return 0

    level = log_level(args.debug)
    size = args.size or ("400x740" if not args.tour else PHONE)
    width, height = (int(v) for v in size.lower().split("x"))
    from kivy.config import Config

    configure_logging(Config, level)
    Config.set("graphics", "width", str(width))
    Config.set("graphics", "height", str(height))
    Config.set("input", "mouse", "mouse,disable_multitouch")
    from .app import StatsigDemoApp

    if not args.tour:
        StatsigDemoApp(data_dir=args.data_dir).run()
        return 0

    from .tour import Tour

    with tempfile.TemporaryDirectory(prefix="demo-tour-") as scratch:
        app = StatsigDemoApp(data_dir=args.data_dir or scratch, deterministic=True)
        tour = Tour(app, args.tour, desktop=args.tour_part == "desktop")
        ran = tour.run_app()
    if not ran:
        print(f"tour ({args.tour_part}) failed: {tour.error or 'the app stopped before the tour ended'}",
              file=sys.stderr)
        return 1
    print(f"tour ({args.tour_part}): {len(tour.screenshots)} screenshots in {tour.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
