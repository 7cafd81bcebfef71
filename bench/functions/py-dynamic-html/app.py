# FunctionBench/SeBS "dynamic-html" (TrEnv: DH): render a page with jinja2.
# The template is compiled at init; each call renders `rows` generated rows.
import random
from datetime import datetime, timezone

from jinja2 import Environment, DictLoader

TEMPLATE = """<!doctype html>
<html><head><title>{{ title }}</title></head>
<body>
<h1>{{ title }}</h1>
<p>Generated for {{ username }} at {{ cur_time }}</p>
<ul>
{% for n in random_numbers %}  <li class="{{ loop.cycle('odd', 'even') }}">{{ n }}</li>
{% endfor %}</ul>
</body></html>
"""

ENV = Environment(loader=DictLoader({"page.html": TEMPLATE}), autoescape=True)
PAGE = ENV.get_template("page.html")


def handler(event, context):
    rows = int(event.get("rows", 1000))
    rng = random.Random(event.get("seed", 1))
    html = PAGE.render(
        title="hearth dynamic html",
        username=event.get("username", "bench"),
        cur_time=datetime.now(timezone.utc).isoformat(),
        random_numbers=[rng.randint(0, 1_000_000) for _ in range(rows)],
    )
    return {"bytes": len(html), "rows": rows}
