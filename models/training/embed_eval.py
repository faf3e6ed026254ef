"""Embedding separation metrics shared by the DNA and audio evaluations."""
import torch


def separation(emb, labels):
    """emb [n, H] (mean final hidden states), labels: n group labels. Returns

    within:  mean Euclidean distance between embeddings of the same group (pairs i<j),
    between: mean distance between embeddings of different groups,
    ratio:   within / between (< 1: groups separate; 1: no structure),
    nn_accuracy: leave-one-out 1-nearest-neighbour accuracy of the group label (items whose group has >= 2 members).
    """
    emb = emb.double()
    d = torch.cdist(emb, emb)
    n = len(labels)
    same = torch.tensor([[labels[i] == labels[j] for j in range(n)] for i in range(n)])
    off = ~torch.eye(n, dtype=torch.bool)
    w = d[same & off]
    b = d[~same]
    dd = d.clone()
    dd.fill_diagonal_(float("inf"))
    nn = dd.argmin(1)
    eligible = [i for i in range(n) if sum(1 for j in range(n) if j != i and labels[j] == labels[i]) > 0]
    acc = sum(1 for i in eligible if labels[int(nn[i])] == labels[i]) / max(1, len(eligible))
    within = float(w.mean()) if w.numel() else float("nan")
    between = float(b.mean()) if b.numel() else float("nan")
    return {"within": within, "between": between, "ratio": within / between if between > 0 else float("nan"),
            "nn_accuracy": acc, "items": n, "groups": len(set(labels))}
