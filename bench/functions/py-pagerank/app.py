# SeBS "graph-pagerank" (TrEnv: PR): PageRank with networkx on a seeded graph.
import networkx as nx


def handler(event, context):
    size = int(event.get("size", 2000))
    graph = nx.barabasi_albert_graph(size, 5, seed=int(event.get("seed", 7)))
    ranks = nx.pagerank(graph)
    top = max(ranks, key=ranks.get)
    return {"nodes": size, "edges": graph.number_of_edges(), "top": int(top), "rank": ranks[top]}
