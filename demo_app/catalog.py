"""The demo shop's products (behaviour data, not layout)."""

PRODUCTS = [
    {"product_id": "sku-1001", "name": "Trail Running Shoes", "price": 89.00, "category": "Shoes",
     "color": (0.29, 0.27, 0.82, 1), "blurb": "Light, grippy, and made for muddy Sunday mornings."},
    {"product_id": "sku-1002", "name": "Merino Wool Beanie", "price": 24.50, "category": "Accessories",
     "color": (0.85, 0.36, 0.28, 1), "blurb": "Warm without the itch. One size fits most."},
    {"product_id": "sku-1003", "name": "Insulated Water Bottle", "price": 32.00, "category": "Gear",
     "color": (0.13, 0.59, 0.53, 1), "blurb": "Keeps drinks cold for 24 hours, hot for 12."},
    {"product_id": "sku-1004", "name": "Packable Rain Jacket", "price": 129.00, "category": "Outerwear",
     "color": (0.95, 0.61, 0.13, 1), "blurb": "Folds into its own pocket; sheds a downpour."},
    {"product_id": "sku-1005", "name": "Trekking Poles (pair)", "price": 58.00, "category": "Gear",
     "color": (0.35, 0.45, 0.55, 1), "blurb": "Carbon, adjustable, and quiet on the trail."},
]

TAX_RATE = 0.08


def product(product_id):
    for item in PRODUCTS:
        if item["product_id"] == product_id:
            return item
    raise KeyError(product_id)


def initials(name):
    return "".join(word[0] for word in name.split()[:2]).upper()
