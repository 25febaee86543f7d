#!/usr/bin/env python3
"""Writes a small random-weight GGUF of one architecture through llama.cpp's own gguf-py writer, for the
cross-checks of LlamaCppCrossCheckTest (runtime/engine): llama.cpp and this runtime read the same file.

    PYTHONPATH=../shared/peer/gguf-py:../shared/peer/pystub \
      python3 scripts/make-arch-gguf.py --arch qwen2 [--type f32|f16|q8_0|q4_0|q4_1|q5_0|q5_1] --out F.gguf

Shape: dim 256, FFN 512, 2 layers, 4 heads on 2 KV heads of 64 (qwen3: heads of 128, so Q is wider than the
residual stream; phi3: Q, K, V in one matrix and gate, up in one, as Phi-3 files hold them; gemma3: 6 layers, the
first five sliding (a window of 8), sandwich norms, a tied classifier; gemma2: 26 layers, as llama.cpp only runs
Gemma 2 files of 26, 42 or 46 layers, the even ones sliding (a window of 8), sandwich norms, a tied classifier, and
attention scores and logits soft-capped at 10 and 20, tight enough to change them), vocabulary 256, context 512; every matrix's columns a multiple of 256, so llama-quantize can
make any K-quant of it. Weights are drawn so that logits are decisive (unit-variance activations, not the near-flat
logits of small weights): greedy tokens are then a sharp test. The vocabulary is the made-up one of ckv export:
<unk> <s> </s>, then one CJK character a token from U+4E00 (token id i >= 3 is U+4E00 + i - 3; phi3: the last two
are <|endoftext|> and <|end|>, which llama.cpp requires), no space prefix, so token ids can be written as text. Types other than f32/f16 are quantized by gguf-py (legacy types only;
K-quants: bin/llama-quantize, which knows llama and qwen2 but not qwen3 in b4748).
"""
import argparse
import sys

import numpy as np
from gguf import GGUFWriter, GGMLQuantizationType as Q, TokenType
from gguf.quants import quantize

ap = argparse.ArgumentParser()
ap.add_argument('--arch', required=True, choices=['llama', 'qwen2', 'qwen3', 'phi3', 'gemma2', 'gemma3'])
ap.add_argument('--type', default='f32', choices=['f32', 'f16', 'q8_0', 'q4_0', 'q4_1', 'q5_0', 'q5_1'])
ap.add_argument('--seed', type=int, default=11)
ap.add_argument('--out', required=True)
a = ap.parse_args()

V, D, F, L, H, KV = 256, 256, 512, 2, 4, 2
HD = 128 if a.arch == 'qwen3' else 64
if a.arch == 'gemma3':  # five sliding-window layers (a window of 8) and a global one
    L = 6
if a.arch == 'gemma2':  # llama.cpp b4748 aborts on a Gemma 2 of another depth (it picks the query scale by size)
    L = 26
GEMMA = a.arch in ('gemma2', 'gemma3')
rng = np.random.default_rng(a.seed)
w = GGUFWriter(a.out, a.arch)
w.add_name(f'cross-check {a.arch} {a.type}')
w.add_context_length(512)
w.add_embedding_length(D)
w.add_block_count(L)
w.add_feed_forward_length(F)
w.add_head_count(H)
w.add_head_count_kv(KV)
w.add_key_length(HD)
w.add_value_length(HD)
w.add_rope_dimension_count(HD)
w.add_layer_norm_rms_eps(1e-6 if a.arch != 'llama' else 1e-5)
w.add_rope_freq_base(1000000.0 if a.arch in ('qwen2', 'qwen3') else 10000.0)
w.add_file_type({'f32': 0, 'f16': 1, 'q4_0': 2, 'q4_1': 3, 'q8_0': 7, 'q5_0': 8, 'q5_1': 9}[a.type])
w.add_vocab_size(V)
if a.arch == 'phi3':  # llama.cpp requires it; as large as the context, it changes nothing
    w.add_sliding_window(512)
if GEMMA:
    w.add_sliding_window(8)
if a.arch == 'gemma2':
    w.add_attn_logit_softcapping(10.0)
    w.add_final_logit_softcapping(20.0)
toks = ['<unk>', '<s>', '</s>'] + [chr(0x4E00 + i) for i in range(V - 3)]
types = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL] + [TokenType.NORMAL] * (V - 3)
if a.arch == 'phi3':  # llama.cpp's loader looks these up for phi3: the last two tokens
    toks[-2:] = ['<|endoftext|>', '<|end|>']
    types[-2:] = [TokenType.CONTROL, TokenType.CONTROL]
w.add_tokenizer_model('llama')
w.add_token_list(toks)
w.add_token_scores([0.0] * V)
w.add_token_types(types)
w.add_bos_token_id(1)
w.add_eos_token_id(2)
w.add_unk_token_id(0)
w.add_add_bos_token(True)
w.add_add_space_prefix(False)

QTYPES = {'f32': Q.F32, 'f16': Q.F16, 'q8_0': Q.Q8_0, 'q4_0': Q.Q4_0, 'q4_1': Q.Q4_1, 'q5_0': Q.Q5_0, 'q5_1': Q.Q5_1}


def matrix(name, rows, cols, gain=1.0):
    m = (rng.standard_normal((rows, cols)) * gain / np.sqrt(cols)).astype(np.float32)
    t = QTYPES[a.type]
    if t == Q.F32:
        w.add_tensor(name, m)
    elif t == Q.F16:
        w.add_tensor(name, m.astype(np.float16))
    else:
        w.add_tensor(name, quantize(m, t), raw_dtype=t)


def vector(name, n, mean=1.0, spread=0.2):
    w.add_tensor(name, (mean + spread * rng.standard_normal(n)).astype(np.float32))


# Gemma 2 multiplies the embedding by sqrt(D): a unit-variance residual stream needs entries of 1/sqrt(D), and its
# tied classifier then needs a large final norm for decisive logits (else the current token's own embedding wins)
matrix('token_embd.weight', V, D, gain=1.0 if a.arch == 'gemma2' else np.sqrt(D))
for l in range(L):
    p = f'blk.{l}.'
    vector(p + 'attn_norm.weight', D)
    if a.arch == 'phi3':  # fused: Q, K, V rows in one matrix
        matrix(p + 'attn_qkv.weight', (H + 2 * KV) * HD, D, gain=2.0)
    else:
        matrix(p + 'attn_q.weight', H * HD, D, gain=2.0)
        matrix(p + 'attn_k.weight', KV * HD, D, gain=2.0)
        matrix(p + 'attn_v.weight', KV * HD, D)
    if a.arch == 'qwen2':
        vector(p + 'attn_q.bias', H * HD, 0.0, 0.1)
        vector(p + 'attn_k.bias', KV * HD, 0.0, 0.1)
        vector(p + 'attn_v.bias', KV * HD, 0.0, 0.1)
    if a.arch in ('qwen3', 'gemma3'):
        vector(p + 'attn_q_norm.weight', HD)
        vector(p + 'attn_k_norm.weight', HD)
    matrix(p + 'attn_output.weight', D, H * HD)
    if GEMMA:
        vector(p + 'post_attention_norm.weight', D)
    vector(p + 'ffn_norm.weight', D)
    if a.arch == 'phi3':  # fused: gate rows, then up rows
        matrix(p + 'ffn_up.weight', 2 * F, D)
    else:
        matrix(p + 'ffn_gate.weight', F, D)
        matrix(p + 'ffn_up.weight', F, D)
    matrix(p + 'ffn_down.weight', D, F)
    if GEMMA:
        vector(p + 'post_ffw_norm.weight', D)
vector('output_norm.weight', D, *((8.0, 1.0) if a.arch == 'gemma2' else ()))
if not GEMMA:  # Gemma ties the classifier to the embedding
    matrix('output.weight', V, D, gain=4.0)
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()
print('wrote', a.out, file=sys.stderr)
