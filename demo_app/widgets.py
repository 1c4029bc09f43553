"""The building blocks that need behaviour or properties set from Python (their look is in
kv/widgets.kv, kv/frame.kv and kv/privacy.kv)."""
from __future__ import annotations

from kivy.properties import BooleanProperty, ObjectProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.floatlayout import FloatLayout


class Card(BoxLayout):
    """A card. With `shown` False it takes no room (kv) and no touches: its children,
    laid out beyond its zero height, must not catch a tap meant for what is under them."""

    shown = BooleanProperty(True)

    def on_touch_down(self, touch):
        return self.shown and super().on_touch_down(touch)

    def on_touch_move(self, touch):
        return self.shown and super().on_touch_move(touch)

    def on_touch_up(self, touch):
        return self.shown and super().on_touch_up(touch)


class NavTab(ButtonBehavior, FloatLayout):
    """One tab of the bottom navigation."""

    tab = StringProperty("")
    label = StringProperty("")
    screen = StringProperty("")   # the screen it opens
    badge = StringProperty("")
    active = BooleanProperty(False)


class ConsentRow(BoxLayout):
    """One consent category on the Privacy screen (a row per category the settings know)."""

    category = StringProperty("")
    given = BooleanProperty(False)    # the user's choice, which its switch shows
    needed = BooleanProperty(False)   # Statsig needs it (the settings' consent mapping)
    screen = ObjectProperty(None)     # the PrivacyScreen its switch reports to
