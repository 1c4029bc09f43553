"""Entry point for python-for-android (buildozer runs main.py from the app folder).

On a phone this folder is the app's root, not a package named demo_app, so load it
as that package first; then the app runs exactly as ``python -m demo_app`` does.
"""
import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def _load_package():
    if "demo_app" in sys.modules:
        return
    init = os.path.join(HERE, "__init__.py")
    if not os.path.exists(init):  # python-for-android may ship only the .pyc
        init += "c"
    spec = importlib.util.spec_from_file_location("demo_app", init, submodule_search_locations=[HERE])
    module = importlib.util.module_from_spec(spec)
    sys.modules["demo_app"] = module
    spec.loader.exec_module(module)


if __name__ == "__main__":
    sys.path.insert(0, HERE)  # segment_statsig ships next to this file in the APK
    _load_package()
    from demo_app.__main__ import main

    sys.exit(main([]))
