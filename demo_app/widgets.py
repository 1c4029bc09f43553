"""The building blocks that need behaviour (their look is in kv/widgets.kv and kv/frame.kv)."""
from __future__ import annotations

from kivy.properties import BooleanProperty, StringProperty
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
