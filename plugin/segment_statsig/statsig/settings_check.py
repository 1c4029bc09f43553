"""Where a Statsig key was put instead of settings['integrations']['Statsig']['apiKey']:
the near misses a warning names, so a key in the wrong place is not silent."""
from __future__ import annotations

TYPE_CHECKING = False  # mypy reads the block below; at run time typing stays unloaded
if TYPE_CHECKING:
    from typing import Any, List, Mapping


def _is(name: object, wanted: str) -> bool:
    """`name` spelt as `wanted` but for case, '_' and '-' (statsig, api_key, APIKEY...)."""
    return isinstance(name, str) and name.replace("_", "").replace("-", "").lower() == wanted.lower()


def _key_fields(block: Mapping[str, Any], path: str) -> List[str]:
    return [f"{path}[{name!r}] (the field is 'apiKey')" for name in block if _is(name, "apiKey") and name != "apiKey"]


def near_misses(settings: Mapping[str, Any]) -> List[str]:
    """Paths in `settings` that look like the Statsig key's place but are not it."""
    found: List[str] = []
    integrations = settings.get("integrations")
    if not isinstance(integrations, dict):
        # the block one level too high (no 'integrations' around it)
        for name, block in settings.items():
            if _is(name, "Statsig"):
                found.append(f"settings[{name!r}] (outside 'integrations')")
                if isinstance(block, dict):
                    found += _key_fields(block, f"settings[{name!r}]")
        found += _key_fields(settings, "settings")
        return found
    for name, block in integrations.items():
        if not _is(name, "Statsig"):
            continue
        path = f"settings['integrations'][{name!r}]"
        if name != "Statsig":
            found.append(f"{path} (the name is 'Statsig', as Segment's settings spell it)")
        if isinstance(block, dict):
            found += _key_fields(block, path)
        else:
            found.append(f"{path} holding {type(block).__name__}, not an object with 'apiKey'")
    return found


def settings_near_misses(settings: Mapping[str, Any]) -> str:
    """'' when nothing looks misplaced; else '; found instead <path>, <path>' for a log line."""
    found = near_misses(settings)
    return "; found instead " + ", ".join(found) if found else ""
