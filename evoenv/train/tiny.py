"""A tiny randomly initialised causal LM and a locally trained tokenizer.

For tests, benchmarks and smoke runs of ``evoenv train`` without downloading
anything: a byte-level BPE tokenizer trained on a few lines of text with the
``tokenizers`` library, and a ``LlamaConfig`` model of a few ten-thousand
parameters, both saved in Hugging Face format.
"""

from __future__ import annotations

from pathlib import Path

import torch

DEFAULT_CORPUS = [
    "Answer inside <answer>...</answer>. The answer is <answer>42</answer>.",
    "Count the items: 1 2 3 4 5 6 7 8 9 0. Sum, sort, reverse, compare.",
    "What is the largest number in the list? Reply with <answer>7</answer>",
]
PAD, EOS = "<|pad|>", "<|eos|>"


def build_tokenizer(corpus: list[str] | None = None, vocab_size: int = 300):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[PAD, EOS],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    core.train_from_iterator(corpus or DEFAULT_CORPUS, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=core, eos_token=EOS, pad_token=PAD)


def build_model(tokenizer, hidden: int = 32, layers: int = 2, heads: int = 4, max_positions: int = 1024,
                seed: int = 0):
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=hidden * 2,
                         num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=heads,
                         max_position_embeddings=max_positions, tie_word_embeddings=True,
                         pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
                         bos_token_id=tokenizer.eos_token_id)
    torch.manual_seed(seed)
    return LlamaForCausalLM(config)


#: A minimal chat template, for tools that format conversations (TRL's GRPOTrainer).
CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def save_tiny(out_dir: str | Path, corpus: list[str] | None = None, seed: int = 0,
              chat_template: str | None = None, **model_kwargs) -> Path:
    """Build and save a tiny model + tokenizer; returns the directory (usable as ``model`` in a config)."""
    out = Path(out_dir)
    tokenizer = build_tokenizer(corpus)
    if chat_template is not None:
        tokenizer.chat_template = chat_template
    model = build_model(tokenizer, seed=seed, **model_kwargs)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
