"""A tiny randomly initialised causal LM and a tokenizer built here, for tests.
Nothing is downloaded: the tokenizer is trained on a few lines with the
``tokenizers`` library and the model is a 2-layer GPT-2 config."""

from __future__ import annotations

from pathlib import Path

CORPUS = [
    "class Env: def sample(self, seed, difficulty): return {}",
    "You are the solver. Put the answer inside <answer> tags.",
    "<think> let me think </think> <answer> 42 </answer>",
    "System: User: Assistant: the quick brown fox jumps over the lazy dog 0 1 2 3 4 5 6 7 8 9",
]


def build_tiny_model(folder: Path, chat_template: str | None = None) -> Path:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<unk>", "<pad>", "<eos>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(CORPUS, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>", eos_token="<eos>")
    if chat_template:
        fast.chat_template = chat_template
    fast.save_pretrained(folder)
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=len(fast), n_positions=256, n_embd=32, n_layer=2, n_head=2,
                        bos_token_id=fast.eos_token_id, eos_token_id=fast.eos_token_id,
                        pad_token_id=fast.pad_token_id)
    GPT2LMHeadModel(config).save_pretrained(folder)
    return folder
