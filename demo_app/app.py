"""The demo app: behaviour here, layout in demo.kv.

Screen changes are tracked by segment_statsig.kivy.track_screens (no screen calls
here), the lifecycle by bind_lifecycle, the device context by track_device_context.
"""
from __future__ import annotations

import json
import os
import time

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.lang import Builder
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import Screen

from segment_statsig.kivy import bind_lifecycle, track_device_context, track_screens

from . import catalog
from .backend import EXPERIMENT, GATE, Backend, save_key

HERE = os.path.dirname(os.path.abspath(__file__))

TITLES = {"home": "Trailhead Outfitters", "catalog": "Shop", "product": "Product", "checkout": "Checkout",
          "profile": "Profile", "events": "Event log", "settings": "Settings"}
TABS = {"home": "home", "catalog": "shop", "product": "shop", "checkout": "shop", "profile": "profile",
        "events": "events", "settings": "settings"}
# What analytics.screen() is called with: the names a product team would chart.
SCREEN_NAMES = {"home": "Home", "catalog": "Catalog", "product": "Product", "checkout": "Checkout",
                "profile": "Profile", "events": "Event Log", "settings": "Settings"}


# The Place-order colours experiment checkout_button may ask for; anything else gets the default.
BUTTON_COLOURS = {"green": (0.13, 0.58, 0.33, 1), "purple": (0.49, 0.25, 0.80, 1)}
DEFAULT_BUTTON_COLOUR = "green"


def money(value):
    return f"${value:,.2f}"


class DemoRoot(BoxLayout):
    title = StringProperty("")
    tab = StringProperty("home")
    can_go_back = BooleanProperty(False)
    mode_text = StringProperty("")
    mode_ok = BooleanProperty(True)
    log_badge = StringProperty("0")


class HomeScreen(Screen):
    note = StringProperty("")

    def log_in(self):
        App.get_running_app().analytics.track("Login Button Clicked", {"method": "email"})
        self.note = "Sent track(\"Login Button Clicked\")."

    def page_view(self):
        App.get_running_app().analytics.page("Home", properties={"path": "/home", "title": "Trailhead Outfitters"})
        self.note = "Sent page(\"Home\")."


class CatalogScreen(Screen):
    def on_kv_post(self, _base):
        self.ids.products.data = [
            {"product_id": p["product_id"], "name": p["name"], "price_text": money(p["price"]),
             "category": p["category"], "swatch": p["color"], "letters": catalog.initials(p["name"])}
            for p in catalog.PRODUCTS]


class ProductScreen(Screen):
    product_id = StringProperty("")
    title = StringProperty("")
    price_text = StringProperty("")
    category = StringProperty("")
    blurb = StringProperty("")
    letters = StringProperty("")
    swatch = ListProperty([0.5, 0.5, 0.5, 1])

    def show(self, product_id):
        item = catalog.product(product_id)
        self.product_id = product_id
        self.title = item["name"]
        self.price_text = money(item["price"])
        self.category = item["category"].upper()
        self.blurb = item["blurb"]
        self.letters = catalog.initials(item["name"])
        self.swatch = list(item["color"])

    def buy(self):
        app = App.get_running_app()
        item = catalog.product(self.product_id)
        app.checkout(self.product_id)  # the checkout's checks come first: see CheckoutScreen
        app.analytics.track("Product Added", {"product_id": item["product_id"], "name": item["name"],
                                              "price": item["price"], "quantity": 1})


class CheckoutScreen(Screen):
    product_id = StringProperty("")
    item_name = StringProperty("")
    price_text = StringProperty("")
    tax_text = StringProperty("")
    total_text = StringProperty("")
    placed = BooleanProperty(False)
    confirmation = StringProperty("")
    order_number = NumericProperty(1000)
    express = BooleanProperty(False)       # gate express_checkout
    button_colour = StringProperty(DEFAULT_BUTTON_COLOUR)   # experiment checkout_button
    button_fill = ListProperty(list(BUTTON_COLOURS[DEFAULT_BUTTON_COLOUR]))
    values_note = StringProperty("")

    def on_pre_enter(self, *_):
        # Before the screen() call the screen change makes. Values follow identify, so
        # check again on every entry: both are memory reads (the values thread fetched
        # them); the first check per user and value logs an exposure.
        self.apply_values()

    def apply_values(self):
        backend = App.get_running_app().backend
        self.express = backend.check_gate(GATE)
        colour, group = backend.experiment_value(EXPERIMENT, "colour", DEFAULT_BUTTON_COLOUR)
        self.button_colour = colour if colour in BUTTON_COLOURS else DEFAULT_BUTTON_COLOUR
        self.button_fill = list(BUTTON_COLOURS[self.button_colour])
        self.values_note = ((f"Button colour from experiment {EXPERIMENT}, group {group}." if group
                             else f"Button colour: the default (not in experiment {EXPERIMENT}).")
                            + f" Express checkout: gate {GATE} is {'on' if self.express else 'off'}.")

    def show(self, product_id):
        item = catalog.product(product_id)
        self.product_id = product_id
        self.item_name = item["name"]
        self.price_text = money(item["price"])
        self.tax_text = money(self.tax(item))
        self.total_text = money(item["price"] + self.tax(item))
        self.placed = False

    @staticmethod
    def tax(item):
        return round(item["price"] * catalog.TAX_RATE, 2)

    def place_order(self, express=False):
        if self.placed or not self.product_id or (express and not self.express):
            return
        item = catalog.product(self.product_id)
        self.order_number += 1
        tax = self.tax(item)
        total = round(item["price"] + tax, 2)
        order_id = f"order-{self.order_number}"
        properties = {
            "order_id": order_id, "total": total, "revenue": item["price"], "tax": tax, "currency": "USD",
            "products": [{"product_id": item["product_id"], "name": item["name"], "price": item["price"],
                          "quantity": 1}]}
        if express:
            properties["express"] = True
        App.get_running_app().analytics.track("Order Completed", properties)
        self.placed = True
        self.confirmation = f"{order_id} for {money(total)} is on its way. The purchase went to Statsig as segment_track:Order Completed with value {item['price']:g}."


class ProfileScreen(Screen):
    def identify(self, user_id, email):
        app = App.get_running_app()
        traits = {"email": email.strip()} if email.strip() else {}
        app.analytics.identify(user_id.strip() or None, traits)
        app.refresh_user_soon()

    def set_audience(self, active):
        app = App.get_running_app()
        if app.analytics is None:
            return
        app.analytics.identify(None, {"order_completed_last_30days": bool(active)})
        app.refresh_user_soon()

    def log_out(self):
        app = App.get_running_app()
        app.analytics.reset()
        app.refresh_user_soon()


class EventLogScreen(Screen):
    pass


class SettingsScreen(Screen):
    note = StringProperty("")

    def save_key(self, key):
        app = App.get_running_app()
        key = key.strip()
        if key and not key.startswith("client-"):
            self.note = "That is not a client SDK key (client-...). A server secret must never ship in an app."
            return
        path = save_key(app.data_dir, key)
        self.note = (f"Saved to {path}. Restart the app to send to Statsig." if key
                     else "Key removed. The next start uses the local stand-in.")


class StatsigDemoApp(App):
    title = "Segment -> Statsig demo"
    queue_depth = NumericProperty(0)
    sent_count = NumericProperty(0)
    retried_count = NumericProperty(0)
    dropped_count = NumericProperty(0)
    offline = BooleanProperty(False)
    can_go_offline = BooleanProperty(False)
    mode_label = StringProperty("")
    key_source = StringProperty("")
    delivery_note = StringProperty("")
    user_text = StringProperty("")
    anonymous_id = StringProperty("")
    window_text = StringProperty("")
    version_text = StringProperty("")

    def __init__(self, data_dir=None, deterministic=False, **kwargs):
        super().__init__(**kwargs)
        self._data_dir = data_dir
        self.deterministic = deterministic
        self.backend = None
        self.analytics = None
        self.screen_tracker = None
        self.lifecycle = None
        self._log_refresh_pending = False
        self.history = []
        self.screens = None
        self.started_at = time.time()
        self._stopped = False

    # --- setup --------------------------------------------------------------------------
    @property
    def data_dir(self):
        if self._data_dir:
            return self._data_dir
        try:
            return self.user_data_dir
        except OSError:  # e.g. XDG_CONFIG_HOME names a folder that does not exist
            self._data_dir = os.path.join(os.path.expanduser("~"), ".segment-statsig-demo")
            os.makedirs(self._data_dir, exist_ok=True)
            return self._data_dir

    def build(self):
        self.backend = Backend(self.data_dir, on_change=self._log_changed, deterministic=self.deterministic)
        self.analytics = self.backend.analytics
        self.lifecycle = bind_lifecycle(self, self.analytics)
        self.device = track_device_context(self.analytics)
        if self.deterministic:  # recordings must not depend on the machine's locale
            self.analytics.set_context(locale="en-US", timezone="UTC")
        else:
            # Fetch gates and experiments now, off the UI thread. (The tour starts the fetch
            # itself, after delivering the first events, as the harness replays it.)
            self.backend.prefetch_values()
        kv = os.path.join(HERE, "demo.kv")
        Builder.unload_file(kv)
        Builder.load_file(kv)
        root = DemoRoot()
        self.screens = root.ids.screens
        self.screens.bind(current=self._screen_changed)
        self._screen_changed(self.screens, self.screens.current)
        self.screen_tracker = track_screens(self.screens, self.analytics,
                                            name_for=lambda name: SCREEN_NAMES.get(name, name))
        local = self.backend.mode == "local"
        self.mode_label = "Local Statsig stand-in" if local else "Statsig"
        self.key_source = self.backend.key_source
        self.can_go_offline = local
        root.mode_text = "LOCAL" if local else "STATSIG"
        self.version_text = "1.0.0 (1)"
        self._refresh_status()
        Clock.schedule_interval(self._refresh_status, 0.5)
        Window.bind(size=lambda *_: self._refresh_status())
        return root

    def on_stop(self):
        # Kivy may dispatch on_stop twice. bind_lifecycle's handler ran first (bound
        # handlers run before this method) and shut analytics down, delivering what it could.
        if self._stopped:
            return
        self._stopped = True
        Clock.unschedule(self._refresh_status)
        if self.backend is not None:
            self.backend.stop()

    # --- navigation ---------------------------------------------------------------------
    def show(self, name):
        if name != self.screens.current:
            self.history.append(self.screens.current)
            self.screens.current = name

    def go_back(self):
        self.screens.current = self.history.pop() if self.history else "home"

    def open_product(self, product_id):
        self.screens.get_screen("product").show(product_id)
        self.show("product")

    def checkout(self, product_id):
        self.screens.get_screen("checkout").show(product_id)
        self.show("checkout")

    def _screen_changed(self, _manager, name):
        root = self.root or self.screens.parent
        root.title = TITLES.get(name, name)
        root.tab = TABS.get(name, "")
        root.can_go_back = name in ("product", "checkout")
        if name == "events":
            self._refresh_log()
        if name == "profile":
            self.refresh_user_soon()

    # --- delivery -----------------------------------------------------------------------
    def flush_now(self):
        self.backend.flush_now()

    def toggle_offline(self):
        if self.backend.set_offline(not self.backend.offline):
            self.offline = self.backend.offline
            self._refresh_status()

    def simulate_pause(self):
        """What Kivy does when the OS sends the app to the background."""
        self.dispatch("on_pause")

    def simulate_resume(self):
        self.dispatch("on_resume")

    def _log_changed(self):
        # Called on a worker thread: hop to the UI thread, once per frame at most.
        if not self._log_refresh_pending:
            self._log_refresh_pending = True
            Clock.schedule_once(self._refresh_log, 0)

    def _refresh_log(self, *_):
        self._log_refresh_pending = False
        if self.screens is None:
            return
        rows = self.backend.event_log.rows()
        self.screens.get_screen("events").ids.log_view.data = rows
        self.screens.parent.log_badge = str(len(rows)) if len(rows) < 1000 else "999+"
        self._refresh_status()

    def _refresh_status(self, *_):
        backend = self.backend
        stats = backend.stats()
        self.queue_depth = backend.queue_depth()
        self.sent_count = stats["sent"]
        self.retried_count = stats["retried"]
        self.dropped_count = stats["dropped"]
        self.offline = backend.offline
        self.anonymous_id = self.analytics.anonymous_id or ""
        self.window_text = "{} x {} px".format(*Window.size)
        if backend.offline:
            self.delivery_note = "The stand-in is refusing (503): events stay in the durable queue and retry."
        elif stats["last_error"] and stats["retried"] and self.queue_depth:
            self.delivery_note = "Last error: " + stats["last_error"][:90]
        elif backend.mode == "local":
            self.delivery_note = f"Sending to the local stand-in at {backend.api_url}"
        else:
            self.delivery_note = f"Sending to {backend.api_url}"

    def refresh_user_soon(self):
        # identify is applied on the timeline worker; show the user once it has been.
        Clock.schedule_once(self._refresh_user, 0.3)

    def _refresh_user(self, *_):
        user = self.backend.destination.user
        self.user_text = json.dumps(user, indent=1, sort_keys=True)
