# FunctionBench "chameleon" (TrEnv: CH): render an HTML table with Chameleon.
from chameleon import PageTemplate

TEMPLATE = PageTemplate("""<table xmlns:tal="http://xml.zope.org/namespaces/tal">
<tr tal:repeat="row rows"><td tal:repeat="cell row" tal:content="cell"/></tr>
</table>""")


def handler(event, context):
    width = int(event.get("width", 10))
    height = int(event.get("height", 200))
    rows = [[f"{r}-{c}" for c in range(width)] for r in range(height)]
    html = TEMPLATE(rows=rows)
    return {"bytes": len(html), "cells": width * height}
