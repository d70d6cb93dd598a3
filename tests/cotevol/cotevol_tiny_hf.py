"""A tiny randomly initialised model (``evoenv.train.tiny``) and a word-level tokenizer, built locally (nothing is
downloaded). ``<answer>`` and ``</answer>`` are single tokens, so random output can hold
answer blocks, as a real model's would."""

from __future__ import annotations

import re
from pathlib import Path

from evoenv.cotevol.prompts import TEMPLATES, template
from evoenv.train.tiny import build_model

EXTRA_WORDS = "Step step 0 1 2 3 4 5 6 7 8 9 10 add the answer is so and = + - . : , ?".split()


def build_tiny_model(folder: Path) -> Path:
    from tokenizers import AddedToken, Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = set(EXTRA_WORDS)
    for name in TEMPLATES:  # the prompts' own words, so prompts are mostly known tokens
        words.update(re.findall(r"\w+|[^\w\s]", template(name)))
    vocab = {tok: i for i, tok in enumerate(["<unk>", "<pad>", "<eos>"] + sorted(words))}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.add_tokens([AddedToken("<answer>", normalized=False), AddedToken("</answer>", normalized=False)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>", eos_token="<eos>")
    fast.save_pretrained(folder)
    build_model(fast, max_positions=2048).save_pretrained(folder)
    return folder
