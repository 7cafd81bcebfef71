# FunctionBench "json_dumps_loads" (TrEnv: JS): serialise and parse a document.
# The document (nested records, as a REST API returns) is generated at init.
import json
import random

_rng = random.Random(42)
DOCUMENT = {
    "items": [
        {
            "id": i,
            "name": "".join(_rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(12)),
            "price": round(_rng.uniform(1, 1000), 2),
            "tags": [_rng.choice(["red", "green", "blue", "sale", "new"]) for _ in range(3)],
            "stock": {"warehouse": _rng.randint(0, 500), "store": _rng.randint(0, 50)},
        }
        for i in range(2000)
    ]
}


def handler(event, context):
    rounds = int(event.get("rounds", 3))
    size = 0
    for _ in range(rounds):
        text = json.dumps(DOCUMENT)
        parsed = json.loads(text)
        size = len(text)
    return {"bytes": size, "items": len(parsed["items"]), "rounds": rounds}
