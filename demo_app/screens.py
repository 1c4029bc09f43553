"""The demo's screens: what each one does (its layout is in kv/). ``SCREENS`` is the one
list of them: the ScreenManager, the top bar, the tabs and screen tracking read it."""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Optional

from kivy.app import App
from kivy.clock import Clock, mainthread
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, StringProperty
from kivy.uix.screenmanager import Screen

from . import catalog, theme
from .flags import FlagsScreen
from .backend import EXPERIMENT, read_on_device, save_key, save_on_device
from .policies import DEEP_LINK, DEEP_LINK_REFERRER, describe
from .privacy import DEBUG_EVENT, RULE_TEXT
from .widgets import ConsentRow

AUDIENCE_TRAIT = "order_completed_last_30days"  # a Personas computed trait

# The Place-order colours experiment checkout_button may ask for; anything else gets the default.
BUTTON_COLOURS = {"green": theme.GREEN, "purple": theme.PURPLE}
DEFAULT_BUTTON_COLOUR = "green"


def money(value):
    return f"${value:,.2f}"


def _app():
    return App.get_running_app()


class HomeScreen(Screen):
    def log_in(self):
        _app().analytics.track("Login Button Clicked", {"method": "email"})
        _app().tell('Sent track("Login Button Clicked", {"method": "email"}). The Events tab follows it.')

    def page_view(self):
        _app().analytics.page("Home", properties={"path": "/home", "title": "Trailhead Outfitters"})
        _app().tell('Sent page("Home"): Statsig gets segment_page:Home.')


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
    swatch = ListProperty(list(theme.GREY))

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
        app = _app()
        item = catalog.product(self.product_id)
        app.checkout(self.product_id)  # the checkout's checks come first: see CheckoutScreen
        app.analytics.track("Product Added", {"product_id": item["product_id"], "name": item["name"],
                                              "price": item["price"], "quantity": 1})


class CheckoutScreen(Screen):
    product_id = StringProperty("")
    item_name = StringProperty("")
    price_text = StringProperty("")
    tax_label = StringProperty(f"Tax ({catalog.TAX_RATE:.0%})")
    tax_text = StringProperty("")
    total_text = StringProperty("")
    value_note = StringProperty("")
    placed = BooleanProperty(False)
    confirmation = StringProperty("")
    order_number = NumericProperty(1000)
    button_colour = StringProperty(DEFAULT_BUTTON_COLOUR)   # experiment checkout_button
    button_fill = ListProperty(list(BUTTON_COLOURS[DEFAULT_BUTTON_COLOUR]))
    values_note = StringProperty("")   # the experiment's part of the note (the gate's is a KV rule)
    source_note = StringProperty("")

    def on_pre_enter(self, *_):
        # Before the screen() call the screen change makes. Values follow identify, so
        # check again on every entry: a memory read (the values thread fetched them); the
        # first check per user and value logs an exposure. (The express button is a KV
        # FeatureGate: its exposure is logged when it is shown.)
        self.apply_values()

    def apply_values(self):
        backend = _app().backend
        colour, group = backend.experiment_value(EXPERIMENT, "colour", DEFAULT_BUTTON_COLOUR)
        self.button_colour = colour if colour in BUTTON_COLOURS else DEFAULT_BUTTON_COLOUR
        self.button_fill = list(BUTTON_COLOURS[self.button_colour])
        self.values_note = (f"Button colour from experiment {EXPERIMENT}, group {group}." if group
                            else f"Button colour: the default (not in experiment {EXPERIMENT}).")
        self.source_note = (f"Values: {backend.values_source}"
                            + (", evaluated on the device." if backend.on_device else ", from Statsig's initialize."))

    def show(self, product_id):
        item = catalog.product(product_id)
        self.product_id = product_id
        self.item_name = item["name"]
        self.price_text = money(item["price"])
        self.tax_text = money(self.tax(item))
        self.total_text = money(item["price"] + self.tax(item))
        self.value_note = (f"Statsig's value will be {money(item['price'])}, the subtotal: it is the order's "
                           "revenue, which Segment's spec counts without tax. The total goes in metadata.")
        self.placed = False
        self.ids.scroller.scroll_y = 1  # a new order starts at the top

    def on_placed(self, _screen, placed):
        if placed:  # bring the confirmation and "Keep shopping" into view, above the tabs
            Clock.schedule_once(self._scroll_to_end, 0)

    def _scroll_to_end(self, _dt):
        scroller = self.ids.scroller
        if scroller.children and scroller.children[0].height > scroller.height:  # only when it does not fit
            scroller.scroll_y = 0

    @staticmethod
    def tax(item):
        return round(item["price"] * catalog.TAX_RATE, 2)

    def place_order(self, express=False):
        if self.placed or not self.product_id or (express and not self.ids.express_gate.passes):
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
        _app().analytics.track("Order Completed", properties)
        self.placed = True
        self.confirmation = (f"{order_id} for {money(total)} is on its way. Statsig got it as "
                             f"segment_track:Order Completed with value {item['price']:g} (the revenue, "
                             f"before tax) and total {total:g} in its metadata.")


class ProfileScreen(Screen):
    audience = BooleanProperty(False)   # the saved trait, which the Personas switch shows

    def on_pre_enter(self, *_):
        self.show_saved_traits()

    def show_saved_traits(self):
        """The switch follows the stored traits (they outlive a restart)."""
        self.audience = bool(_app().analytics.traits.get(AUDIENCE_TRAIT))

    def identify(self, user_id, email):
        app = _app()
        user_id = user_id.strip() or None
        traits = {"email": email.strip()} if email.strip() else {}
        app.analytics.identify(user_id, traits)
        app.refresh_user_soon()
        who = f"userID {user_id}" if user_id else "these traits"
        app.tell(f"Sent identify({json.dumps(user_id)}, {json.dumps(traits)}). No Statsig event: "
                 f"later events carry {who}.")

    def set_audience(self, active):
        app = _app()
        self.audience = bool(active)
        app.analytics.identify(None, {AUDIENCE_TRAIT: self.audience})
        app.refresh_user_soon()
        app.tell(f"Sent identify(traits={{\"{AUDIENCE_TRAIT}\": {json.dumps(self.audience)}}}). "
                 "Later events carry it in user.custom.")

    def log_out(self):
        app = _app()
        app.analytics.reset()
        self.audience = False
        app.refresh_user_soon()
        app.tell("Sent reset(): a new anonymousId, and no userID or traits on later events.")


class EventLogScreen(Screen):
    pass


class EventDetailScreen(Screen):
    """One event log entry in full: the Segment call, the Statsig event, its user, its delivery."""

    number = NumericProperty(0)
    title = StringProperty("")
    segment = StringProperty("")
    statsig = StringProperty("")
    user = StringProperty("")
    history = StringProperty("")
    delivery = StringProperty("")     # queued, sent, retrying, dropped...
    state_text = StringProperty("")   # "sent 202"

    def show(self, number):
        self.number = number
        self.refresh()

    def refresh(self):
        detail = _app().backend.event_log.detail(self.number)
        if detail is None:
            detail = {"title": "Gone", "segment": "The log keeps the newest 500 entries; this one left it.",
                      "statsig": "", "user": "", "history": "", "delivery": "", "state_text": ""}
        for key, value in detail.items():
            setattr(self, key, value)


class SettingsScreen(Screen):
    note = StringProperty("")
    policies_text = StringProperty("")
    deep_link = StringProperty(DEEP_LINK)
    evaluation_note = StringProperty("")

    def on_kv_post(self, _base):
        self.policies_text = describe(_app().backend.flush_policies)

    def on_pre_enter(self, *_):
        backend = _app().backend
        saved = read_on_device(_app().data_dir)
        self.evaluation_note = (f"Now: {'on the device' if backend.on_device else 'initialize, per user'} "
                               f"(values: {backend.values_source})."
                               + (f" Next start: {'on the device' if saved else 'initialize'}."
                                  if saved != backend.on_device else ""))

    def set_on_device(self, on):
        save_on_device(_app().data_dir, on)
        self.on_pre_enter()

    def save_key(self, key):
        app = _app()
        key = key.strip()
        if key and not key.startswith("client-"):
            self.note = "That is not a client SDK key (client-...). A server secret must never ship in an app."
            return
        path = save_key(app.data_dir, key)
        self.note = (f"Saved to {path}. Restart the app to send to Statsig." if key
                     else "Key removed. The next start uses the local stand-in.")

    def background(self):
        _app().simulate_pause()
        _app().tell('Sent track("Application Backgrounded") and flushed the queue, as the OS pausing '
                    'the app does (on_pause).')

    def foreground(self):
        _app().simulate_resume()
        _app().tell('Sent track("Application Opened", {"from_background": true}), as the app coming back '
                    'does (on_resume).')

    def open_deep_link(self):
        """What Android's intent for a link does (segment_statsig.kivy.track_deep_links)."""
        app = _app()
        app.analytics.open_url(DEEP_LINK, referrer=DEEP_LINK_REFERRER)
        app.tell('Sent track("Deep Link Opened", {"url": ..., "referrer": "com.example.mail", '
                 '"utm_source": "newsletter", "utm_campaign": "spring"}).')

    def set_orders_at_once(self, on):
        backend = _app().backend
        backend.set_orders_at_once(on)
        self.policies_text = describe(backend.flush_policies)
        _app().tell("Orders are sent at once now (SendOrdersAtOnce)." if on
                    else "Orders wait for their batch again.")


class PrivacyScreen(Screen):
    """Consent per category, opt-out and erase. Each tap says what it did (the message
    bar); its effect shows in the Events tab (blocked, filtered and erased rows)."""

    statsig_needs = StringProperty("")
    rule_text = StringProperty(RULE_TEXT)
    erasing = BooleanProperty(False)

    def on_kv_post(self, _base):
        backend = _app().backend
        needs = backend.statsig_categories()
        self.statsig_needs = ", ".join(needs) or "nothing"
        for category in backend.consent_categories():  # one switch per category the settings know
            self.ids.consent_rows.add_widget(ConsentRow(category=category, screen=self,
                                                        needed=category in needs))
        self.refresh()

    def on_pre_enter(self, *_):
        self.refresh()

    def refresh(self):
        backend = _app().backend
        given = backend.consent_categories()
        for row in self.ids.consent_rows.children:
            row.given = given.get(row.category, False)
        _app().collecting = backend.collecting  # the opt-out switch shows it

    def set_consent(self, category, given):
        app = _app()
        app.backend.set_consent(category, given)
        self.refresh()
        what = (f'notify_consent_changed() sent track("Segment Consent Preference Updated") with '
                f'{category}: {json.dumps(bool(given))}. ')
        if category not in app.backend.statsig_categories():
            what += f"Statsig does not need {category}: nothing changes for it."
        elif app.backend.statsig_consented():
            what += "Statsig gets later events again."
        else:
            what += f"Statsig needs {category}: later events stay off it (blocked, in Events)."
        app.tell(what)

    def send_test(self):
        self._send("Test Event", {"screen": "Privacy"}, "it goes to Statsig.")

    def send_debug(self):
        self._send(DEBUG_EVENT, {"detail": "cache warm-up"},
                   "the destination filter drops it before Statsig (filtered, in Events).")

    def _send(self, event, properties, fate):
        app = _app()
        app.analytics.track(event, properties)
        call = f'track("{event}")'
        if not app.backend.collecting:
            app.tell(f"{call} wrote nothing: collection is off (opted out).")
        elif not app.backend.statsig_consented():
            app.tell(f"Sent {call}. Without consent to {self.statsig_needs}, the consent blocker keeps "
                     "it from Statsig (blocked, in Events).")
        else:
            app.tell(f"Sent {call}: {fate}")

    def set_collecting(self, enabled):
        app = _app()
        app.backend.set_collecting(enabled)
        self.refresh()
        app.tell("analytics.enabled = True: calls are recorded again." if enabled else
                 "analytics.enabled = False: every call returns without writing anything, until you "
                 "switch it back on. Kept across restarts.")

    def erase(self):
        """analytics.purge() waits for the timeline worker: run it off the UI thread."""
        if self.erasing:
            return
        self.erasing = True
        backend = _app().backend
        threading.Thread(target=lambda: self._erased(*backend.purge()), name="demo-purge", daemon=True).start()

    @mainthread
    def _erased(self, done, waiting):
        self.erasing = False
        _app().tell(f"analytics.purge() erased every event waiting on this device ({waiting} in the Statsig "
                    "queue; the journal and exposures too). What Statsig already received stays there."
                    if done else "analytics.purge() did not finish in time; nothing is lost by trying again.")


@dataclass(frozen=True)
class ScreenInfo:
    name: str                  # the ScreenManager's name
    screen: type               # its class (its layout: the <Class> rule in kv/)
    title: str                 # the top bar
    tab: str                   # the tab it belongs to
    tracked_as: Optional[str]  # what analytics.screen() is called with (the names a product team charts)
    back: bool = False         # a back button instead of a tab to return


SCREENS = (
    ScreenInfo("home", HomeScreen, "Trailhead Outfitters", "home", "Home"),
    ScreenInfo("catalog", CatalogScreen, "Shop", "shop", "Catalog"),
    ScreenInfo("product", ProductScreen, "Product", "shop", "Product", back=True),
    ScreenInfo("checkout", CheckoutScreen, "Checkout", "shop", "Checkout", back=True),
    ScreenInfo("profile", ProfileScreen, "Profile", "profile", "Profile"),
    ScreenInfo("events", EventLogScreen, "Event log", "events", "Event Log"),
    # a look inside the log, not a screen of the shop: not tracked
    ScreenInfo("event", EventDetailScreen, "Event", "events", None, back=True),
    ScreenInfo("settings", SettingsScreen, "Settings", "settings", "Settings"),
    ScreenInfo("privacy", PrivacyScreen, "Privacy", "settings", "Privacy", back=True),
    ScreenInfo("flags", FlagsScreen, "Flags", "settings", "Flags", back=True),
)
#: the bottom navigation: (tab, label, the screen it opens)
TABS = (("home", "Home", "home"), ("shop", "Shop", "catalog"), ("profile", "Profile", "profile"),
        ("events", "Events", "events"), ("settings", "Settings", "settings"))

BY_NAME = {info.name: info for info in SCREENS}
