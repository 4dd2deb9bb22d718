"""Every exercise's tests separate right from subtly wrong (issue 14): the solution scores full
points and each mutant of it — one slip a student makes: a flipped sign, a missing ½ or sum, a
sum over the wrong axis, log-mean-exp without the shift, an off-by-one, a transposed matrix —
loses points, graded as the grader's verification run grades (coursekit/grading/mutants.py).
Each mutant names the test that must catch it, so a weakened hidden test fails here by name.
A new exercise adds its mutants to MUTANTS."""
from pathlib import Path

import pytest

from coursekit.grading.mutants import Mutant, grade_mutants

ROOT = Path(__file__).resolve().parents[1]


def m(answer, old, new, what, caught_by):
    return Mutant(answer, old, new, what), caught_by


MUTANTS = {
    "00_introduction": [
        m("gaussian-kl", "- 0.5", "+ 0.5", "the constant's sign flipped", "gaussian-kl-public"),
        m("gaussian-kl", "(2 * sigma_p**2)", "(sigma_p**2)", "the ½ left out", "gaussian-kl-public"),
        m("gaussian-kl", "torch.log(sigma_p / sigma_q)", "torch.log(sigma_q / sigma_p)", "log σ_q/σ_p: the ratio flipped",
          "gaussian-kl-public"),
        m("gaussian-kl", "sigma_q**2 + ", "sigma_q + ", "σ_q where σ_q² belongs", "gaussian-kl-public"),
        m("categorical-kl", "torch.log(p) - torch.log(q)", "torch.log(q) - torch.log(p)", "log q/p: the sign flipped",
          "categorical-kl-public"),
        m("categorical-kl", "ratio).sum(-1)", "ratio).sum()", "summed over the batch too", "categorical-kl-hidden"),
        m("categorical-kl", "torch.where(p > 0, torch.log(p) - torch.log(q), torch.zeros_like(p))",
          "torch.log(p) - torch.log(q)", "0·log 0 not taken as 0", "categorical-kl-hidden"),
        m("floor", "counts + alpha", "counts", "no smoothing in the numerator", "floor-public"),
        m("floor", "(flat.shape[0] + levels * alpha)", "(flat.shape[0] + alpha)", "K·α missing from the denominator",
          "floor-public"),
        m("floor", "(flat.shape[0] + levels * alpha)", "(flat.shape[0] + (levels - 1) * alpha)", "off by one level",
          "floor-public"),
        m("floor", "flat].sum(1)", "flat].mean(1)", "the mean over pixels, not the sum", "floor-public"),
        m("floor", "(D * math.log(2))", "D", "nats per dimension, not bits", "floor-hidden"),
    ],
    "01_autoencoders": [
        m("pca", "singular.square() / n_rows", "singular.square() / (n_rows - 1)", "eigenvalues with N − 1",
          "pca-public"),
        m("pca", "Vt[:k].T", "Vt.T[:k].T", "rows of V where columns belong (Vᵀ's rows)", "pca-hidden"),
        m("pca", "torch.linalg.svd(X - mean", "torch.linalg.svd(X", "not centred", "pca-hidden"),
        m("pca", "singular.square() / n_rows", "singular / n_rows", "σ where σ² belongs", "pca-public"),
        m("reconstruct", "codes @ V_k.T + mu", "codes @ V_k.T", "the mean not added back", "reconstruct-hidden"),
        m("reconstruct", "squared.sum(dim=1).mean()", "squared.mean()", "the mean over dimensions too",
          "reconstruct-public"),
        m("reconstruct", "codes = (X - mu) @ V_k", "codes = X @ V_k", "codes of uncentred data", "reconstruct-hidden"),
        m("angles", "return torch.rad2deg(torch.arccos(cosines))", "return torch.arccos(cosines)", "radians",
          "angles-public"),
        m("angles", "basis_a, _ = torch.linalg.qr(A)", "basis_a = A", "no orthonormal basis for A", "angles-public"),
        m("angles", "return torch.rad2deg(torch.arccos(cosines))", "return torch.rad2deg(torch.arccos(cosines)).flip(0)",
          "decreasing, not increasing", "angles-hidden"),
        m("linear-ae", ".square().sum(dim=1).mean()", ".square().mean()", "the loss divided by D", "linear-ae-public"),
        m("linear-ae", "        optimiser.zero_grad()\n", "", "gradients never zeroed (they pile up)", "linear-ae-public"),
        m("linear-ae", "g.weight.detach()", "f.weight.detach().T", "the encoder's weight (transposed), not the decoder's",
          "linear-ae-hidden"),
        m("linear-ae", "torch.manual_seed(seed)", "torch.manual_seed(0)", "the seed ignored", "linear-ae-hidden"),
        m("linear-ae", "    torch.manual_seed(seed)\n", "", "no seed: every call starts from another initialisation",
          "linear-ae-hidden"),
        m("linear-ae", "range(steps)", "range(1500)", "`steps` ignored", "linear-ae-hidden"),
    ],
    "02_vae": [
        m("reparameterize", "torch.exp(log_var / 2)", "torch.exp(log_var)", "σ² where σ belongs", "reparameterize-public"),
        m("reparameterize", "return mu + sigma * eps", "return (mu + sigma * eps).detach()", "no gradient to μ, log σ²",
          "reparameterize-hidden"),
        m("kl", "0.5 * torch.sum", "torch.sum", "the ½ left out", "kl-public"),
        m("kl", "- 1.0 - log_var", "- 1.0 + log_var", "log σ²'s sign flipped", "kl-public"),
        m("kl", "variance + mu * mu", "torch.exp(log_var / 2) + mu * mu", "σ where σ² belongs", "kl-public"),
        m("kl", "variance + mu * mu", "variance + mu", "μ where μ² belongs", "kl-public"),
        m("kl", "dim=-1)", "dim=0)", "summed over the batch", "kl-public"),
        m("categorical", "torch.log_softmax(logits, dim=-1)", "torch.softmax(logits, dim=-1).log()",
          "log of softmax: not stable", "categorical-hidden"),
        m("categorical", "chosen.sum(dim=-1)", "chosen.mean(dim=-1)", "the mean over pixels, not the sum",
          "categorical-public"),
        m("categorical", "torch.log_softmax(logits, dim=-1)", "torch.log_softmax(logits, dim=1)",
          "softmax over pixels, not levels", "categorical-public"),
        m("elbo", "- kl_to_prior(mu, log_var)", "+ kl_to_prior(mu, log_var)", "the KL added", "elbo-public"),
        m("elbo", "decoder(latent)", "decoder(mu)", "decoded at μ, not at the sample z", "elbo-hidden"),
        m("iwae", "return torch.logsumexp(log_px_z + log_pz - log_qz, dim=0) - math.log(k)",
          "return torch.log(torch.exp((log_px_z + log_pz - log_qz).double()).mean(0)).float()",
          "log-mean-exp without the shift, in float64", "iwae-hidden"),
        m("iwae", "dim=0) - math.log(k)", "dim=0)", "log-sum-exp without the 1/k", "iwae-hidden"),
        m("iwae", "log_pz - log_qz", "log_pz + log_qz", "log q's sign flipped", "iwae-hidden"),
        m("iwae", "x.repeat(k, 1)", "x.repeat_interleave(k, 0)", "images and samples misaligned", "iwae-hidden"),
        m("iwae", "torch.logsumexp(log_px_z + log_pz - log_qz, dim=0) - math.log(k)",
          "(log_px_z + log_pz - log_qz).mean(dim=0)", "the mean of log w: the ELBO, not L_k", "iwae-hidden"),
        m("iwae", "torch.randn((k, n, latent), generator=generator)",
          "torch.randn((1, n, latent), generator=generator).expand(k, n, latent)",
          "one draw shared by the k samples: L_k is L_1", "iwae-hidden"),
        m("iwae", "log_px_z + log_pz - log_qz", "log_px_z - log_qz", "log p(z) left out of the weights", "iwae-hidden"),
        m("iwae", "log_px_z + log_pz - log_qz", "log_px_z + log_pz", "log q(z|x) left out of the weights", "iwae-hidden"),
        m("iwae", "normal(mu, torch.exp(0.5 * log_var))", "normal(mu, torch.exp(log_var))", "q's scale σ² where σ belongs",
          "iwae-hidden"),
        m("bounds", "95.62 / (64 * math.log(2))", "98.40 / (64 * math.log(2))", "the ELBO, a looser bound than L_1000",
          "bounds-bits-hidden"),
        m("bounds", "95.62 / (64 * math.log(2))", "95.62 / 64", "nats per dimension, not bits", "bounds-bits-hidden"),
        m("bounds", "95.62 / (64 * math.log(2))", "95.62 / math.log(2)", "bits per image, not per dimension",
          "bounds-public"),
        m("bounds", "98.40 - 95.62", "7.10", "the KL to the prior, not to the posterior", "bounds-kl-hidden"),
        m("bounds", "98.40 - 95.62", "98.40 - 96.91", "L_10, not the tightest bound L_1000", "bounds-kl-hidden"),
        m("bounds", "98.40 - 95.62", "95.62 - 98.40", "the sign flipped", "bounds-public"),
        m("train-vae", "-per_image.mean()", "per_image.mean()", "the ELBO minimised, not maximised", "train-vae-public"),
        m("train-vae", "-per_image.mean()", "-per_image.sum()", "summed over the batch, not averaged", "train-vae-public"),
        m("train-vae", "torch.randn_like(mu)", "torch.zeros_like(mu)", "no noise: z = μ", "train-vae-hidden"),
        m("train-vae", "torch.randn_like(mu)", "torch.rand_like(mu)", "uniform noise, not Gaussian", "train-vae-hidden"),
        m("train-vae", "elbo(x, mu, log_var, self.decoder, eps)",
          "log_categorical(self.decoder(reparameterize(mu, log_var, eps)), x)", "the KL left out of the loss",
          "train-vae-hidden"),
        m("train-vae", "epochs=epochs", "epochs=1", "trained for one epoch, whatever `epochs` says", "train-vae-hidden"),
    ],
    "03_beta_vae": [
        m("water-filling", "rate = (0.5 * torch.log", "rate = (torch.log", "the ½ of the rate left out",
          "water-filling-public"),
        m("water-filling", "- 2 * budget) / m", "- budget) / m", "δ where 2δ belongs when solving for the level",
          "water-filling-public"),
        m("water-filling", "if m == len(s) or log_level >= float(torch.log(s[m])):", "if m == len(s):",
          "every source coded: the sources below the level not left out", "water-filling-public"),
        m("water-filling", "return rate, distortion, 2 * level", "return rate, distortion, level",
          "β = θ, the water level, instead of 2θ", "water-filling-public"),
        m("water-filling", "descending=True", "descending=False", "the sources tried smallest first",
          "water-filling-public"),
        m("water-filling", "distortion = variances.clamp(max=level)", "distortion = torch.full_like(variances, level)",
          "every source at the water level, the uncoded ones too", "water-filling-public"),
        m("water-filling", "if not budget >= 0:", "if budget < -1:", "a negative budget accepted",
          "water-filling-errors-hidden"),
        m("mi", "(p[seen] * torch.log(", "(torch.log(", "the log-ratios not weighted by p(a, b)", "mi-public"),
        m("mi", "/ len(a)", "/ (len(a) - 1)", "counts over N − 1", "mi-public"),
        m("mi", "p.sum(1, keepdim=True) * p.sum(0, keepdim=True)", "p.sum(1, keepdim=True) * p.sum(1, keepdim=True).T",
          "p(a)p(a) where p(a)p(b) belongs", "mi-hidden"),
        m("mig", "informations / mutual_information(v, v)", "informations", "not normalised by H(v)", "mig-public"),
        m("mig", "gaps.append(float(first - second))", "gaps.append(float(first))", "the largest, not the gap",
          "mig-public"),
        m("mig", "return sum(gaps) / len(gaps)", "return sum(gaps)", "summed over the factors, not averaged",
          "mig-public"),
        m("mig", "low, high = z.min(0).values, z.max(0).values", "low, high = z.min(), z.max()",
          "one range for all latents, not each column's own", "mig-known-hidden"),
        m("mig", "mutual_information(binned[:, j], v)", "mutual_information(z[:, j], v)",
          "the raw values as labels: no binning", "mig-known-hidden"),
        m("mig", "informations / mutual_information(v, v)",
          "informations / torch.tensor([mutual_information(binned[:, j], binned[:, j]) for j in range(z.shape[1])])",
          "normalised by H(z_j), not H(v_k)", "mig-known-hidden"),
        m("kl-per-dimension", "per_example.mean(dim=0)", "per_example.sum(dim=0)", "summed over the batch",
          "active-public"),
        m("kl-per-dimension", "- 1.0 - log_var", "- 1.0 + log_var", "log σ²'s sign flipped", "active-hidden"),
        m("active-dimensions", "descending=True", "descending=False", "the smallest KL first", "active-hidden"),
        m("active-dimensions", "by_kl[kl[by_kl] > threshold]", "by_kl[kl > threshold]",
          "the mask in the latents' order applied to the sorted indices", "active-hidden"),
    ],
    "04_autoregressive": [
        m("chain-rule", "context = flat[:t]", "context = flat[:t + 1]", "the pixel itself in its own context",
          "chain-rule-public"),
        m("chain-rule", "flat = x.reshape(H * W).long()", "flat = x.T.reshape(H * W).long()",
          "column by column, not row by row", "chain-rule-hidden"),
        m("chain-rule", "context = flat[:t]", "context = x[i, :j]", "only the pixels left of it: the rows above left out",
          "chain-rule-public"),
        m("chain-rule", "context = flat[:t]", "context = flat[max(t - 1, 0):t]", "only the last pixel as the context",
          "chain-rule-public"),
        m("chain-rule", "    return total\n", "    return total / (H * W)\n", "the mean over pixels, not the sum",
          "chain-rule-public"),
        m("chain-rule", "t = i * W + j", "t = i * H + j", "the raster index with H where W belongs",
          "chain-rule-hidden"),
        m("chain-rule", "context = flat[:t]", "context = flat[:t].flip(0)", "the context in reverse order",
          "chain-rule-public"),
        m("bits", "/ (D * math.log(2))", "/ D", "nats per dimension, not bits", "bits-public"),
        m("bits", "/ (D * math.log(2))", "/ math.log(2)", "bits per image, not per dimension", "bits-public"),
        m("bits", "D = x.numel()", "D = x.shape[0] ** 2", "D = H², right for square images only", "bits-hidden"),
        m("degrees", "torch.arange(1, D + 1)", "torch.arange(D)", "0-based degrees", "degrees-public"),
        m("degrees", "degrees[order.long()] = torch.arange(1, D + 1)", "degrees = order.long() + 1",
          "the visiting order taken for the degrees (not inverted)", "degrees-public"),
        m("made-masks", "degrees[0][:, None] > degrees[-1][None, :]", "degrees[0][:, None] >= degrees[-1][None, :]",
          "output mask with ≥: output d sees x_d itself", "made-masks-public"),
        m("made-masks", "m_out[:, None] >= m_in[None, :]", "m_out[:, None] > m_in[None, :]", "hidden masks strict (>)",
          "made-masks-hidden"),
        m("made-masks", "(m_out[:, None] >= m_in[None, :]).float()", "(m_in[:, None] <= m_out[None, :]).float()",
          "hidden masks transposed: (in, out)", "made-masks-public"),
        m("made-masks", "degrees = [input_degrees(order), *hidden_degrees]",
          "degrees = [order.long() + 1, *hidden_degrees]", "the visiting order used as the degrees",
          "made-masks-public"),
        m("made-masks", "degrees = [input_degrees(order), *hidden_degrees]",
          "degrees = [input_degrees(order) - 1, *hidden_degrees]", "0-based input degrees (1..D−1 hidden)",
          "made-masks-hidden"),
        m("made-masks", "degrees[0][:, None] > degrees[-1][None, :]", "degrees[0][:, None] - 1 > degrees[-1][None, :]",
          "output mask off by one: output d misses the dimension just before it", "made-masks-hidden"),
        m("pixelcnn-mask", "mask[c, :c] = 1", "mask[c, c + 1:] = 1", "the centre row's right side, not its left",
          "pixelcnn-mask-public"),
        m("pixelcnn-mask", "    return mask\n", "    return mask.T\n", "transposed: columns left, not rows above",
          "pixelcnn-mask-public"),
        m("pixelcnn-mask", 'if mask_type == "B":', 'if mask_type == "A":', "mask A and mask B swapped",
          "pixelcnn-mask-public"),
        m("pixelcnn-mask", "mask[:c, :] = 1", "mask[c - 1, :] = 1", "only the row just above (right for 3×3 only)",
          "pixelcnn-mask-hidden"),
        m("pixelcnn-mask", "if not isinstance(k, int) or k < 1 or k % 2 == 0:", "if not isinstance(k, int) or k < 1:",
          "an even kernel accepted", "pixelcnn-mask-hidden"),
        m("receptive-field", 'pixelcnn_mask(first_kernel, "A")', 'pixelcnn_mask(first_kernel, "B")',
          "mask B in the first layer: the output sees its own pixel", "receptive-field-public"),
        m("receptive-field", 'pixelcnn_mask(kernel, "B")', 'pixelcnn_mask(kernel, "A")', "mask A in every layer",
          "receptive-field-public"),
        m("receptive-field", "flipped = mask.flip(0, 1)[None, None]", "flipped = mask[None, None]",
          "the mask not flipped: what (i, j) influences, not what it sees", "receptive-field-public"),
        m("receptive-field", "* layers", "* (layers - 1)", "one mask-B layer too few", "receptive-field-hidden"),
        m("receptive-field", 'pixelcnn_mask(first_kernel, "A")', 'pixelcnn_mask(kernel, "A")',
          "the first layer's kernel size ignored", "receptive-field-hidden"),
        m("receptive-field", "seen = torch.zeros(1, 1, H, W)", "seen = torch.zeros(1, 1, H, H)",
          "an H × H image, right for square images only", "receptive-field-hidden"),
        m("sampler", "    for t in range(D):\n        d = int(order[t])", "    for t in range(D):\n        d = t",
          "raster order, whatever the ordering", "sampler-public"),
        m("sampler", "    for t in range(D):\n        d = int(order[t])                     # the dimension drawn at step t\n"
          "        logits = logits_fn(x) ", "    logits = logits_fn(x)\n    for t in range(D):\n        d = int(order[t])\n"
          "        pass ", "one pass before the loop: every x_d drawn from the all-zero image's logits", "sampler-public"),
        m("sampler", "ell = logits[:, :, d]", "ell = logits[:, :, (d + 1) % D]", "the logits of the next dimension",
          "sampler-public"),
        m("sampler", "d = int(order[t])", "d = int(order[t - 1])", "the order off by one step (order[t − 1])",
          "sampler-public"),
        m("sampler", "ell / temperature + gumbel[:, d]", "(ell + gumbel[:, d]) / temperature",
          "the temperature divides the noise too: it changes nothing", "sampler-hidden"),
        m("sampler", "ell / temperature + gumbel[:, d]", "ell * temperature + gumbel[:, d]", "ℓ·T, not ℓ/T",
          "sampler-hidden"),
        m("sampler", "if temperature > 0 else ell", "if temperature > 0 else ell + gumbel[:, d]",
          "noise added at T = 0", "sampler-public"),
        m("sampler", "gumbel[:, d]", "gumbel[:, t]", "the noise of step t, not of dimension d", "sampler-public"),
    ],
    "05_attention": [
        m("attention", "Q @ K.transpose(-2, -1) / math.sqrt(d_k)", "Q @ K.transpose(-2, -1)",
          "no √d_k: the scores not scaled", "attention-public"),
        m("attention", "T, d_k = x.shape[1], W_Q.shape[1]", "T, d_k = x.shape[1], x.shape[2]",
          "√d_model where √d_k belongs", "attention-public"),
        m("attention", "T, d_k = x.shape[1], W_Q.shape[1]", "T, d_k = x.shape[1], W_V.shape[1]",
          "√d_v where √d_k belongs", "attention-public"),
        m("attention", "T, d_k = x.shape[1], W_Q.shape[1]", "T, d_k = x.shape[1], 4",
          "d_k = 4, the example's, whatever the head's width", "attention-hidden"),
        m("attention", "dtype=torch.bool, device=x.device))", "dtype=torch.bool, device=x.device), diagonal=1)",
          "the mask lets token t see token t + 1", "attention-public"),
        m("attention", "torch.tril(", "torch.triu(", "the mask keeps the future, not the past", "attention-public"),
        m("attention", 'scores.masked_fill(~allowed, float("-inf"))', "scores.masked_fill(~allowed, 0.0)",
          "the masked scores set to 0, not −∞", "attention-public"),
        m("attention", "weights = torch.softmax(scores, dim=-1)", "weights = torch.softmax(scores, dim=-2)",
          "the softmax over the queries (dim=-2), not the keys", "attention-public"),
        m("attention", 'scores = scores.masked_fill(~allowed, float("-inf"))          # + M: −∞ where s > t\n'
          "    weights = torch.softmax(scores, dim=-1)", "weights = torch.softmax(scores, dim=-1) * allowed",
          "the mask as 0/1 multiplied after the softmax: rows no longer sum to 1", "attention-public"),
        m("attention", "Q @ K.transpose(-2, -1)", "K @ Q.transpose(-2, -1)", "K Qᵀ: the scores transposed",
          "attention-public"),
        m("heads", "return M.view(B, T, heads, d_h).transpose(1, 2)", "return M.view(B, heads, T, d_h)",
          "(B, T, d) viewed as (B, heads, T, d_h) without the transpose: tokens and heads mixed", "heads-public"),
        m("heads", "return M.view(B, T, heads, d_h).transpose(1, 2)",
          "return M.view(B, T, d_h, heads).permute(0, 3, 1, 2)", "the heads' columns interleaved, not in blocks",
          "heads-public"),
        m("heads", "/ math.sqrt(d_h)", "/ math.sqrt(d)", "√d_model where √d_h belongs", "heads-public"),
        m("heads", "heads_out.transpose(1, 2).reshape(B, T, d)", "heads_out.reshape(B, T, d)",
          "the heads merged without the transpose back", "heads-public"),
        m("heads", "return concatenated @ W_O, weights", "return concatenated, weights", "W_O left out",
          "heads-public"),
        m("heads", "return concatenated @ W_O, weights", "return concatenated @ W_O.T, weights", "W_Oᵀ where W_O belongs",
          "heads-public"),
        m("heads", 'scores.masked_fill(~allowed, float("-inf"))', "scores", "no causal mask", "heads-public"),
        m("heads", "d_h = d // heads", "d_h = d // 2", "d_h for two heads only", "heads-hidden"),
        m("sampling", "logits / temperature + gumbel[:, s]", "logits * temperature + gumbel[:, s]", "ℓ·T, not ℓ/T",
          "sampling-public"),
        m("sampling", "logits / temperature + gumbel[:, s]", "(logits + gumbel[:, s]) / temperature",
          "the temperature divides the noise too: it changes nothing", "sampling-public"),
        m("sampling", "for s in range(S):", "for s in range(1, S):", "the first new token skipped", "sampling-public"),
        m("sampling", "gumbel[:, s] if", "gumbel[:, s - 1] if", "the previous step's noise", "sampling-public"),
        m("sampling", "logits = next_logits(x)", "logits = next_logits(x[:, :-1])",
          "the newest token left out of the context", "sampling-public"),
        m("sampling", "logits = next_logits(x)", "logits = next_logits(x[:, 1:])",
          "the prompt's first token (the start token) left out of the context", "sampling-public"),
        m("sampling", "logits < kth", "logits <= kth", "top-k keeps k − 1 tokens", "sampling-public"),
        m("sampling", 'logits.masked_fill(logits < kth, float("-inf"))', "logits.masked_fill(logits < kth, 0.0)",
          "top-k sets the others to 0, not −∞", "sampling-public"),
        m("sampling", "if top_k is not None and top_k < V:", "if top_k is not None and top_k > V:",
          "top-k never applied", "sampling-public"),
        m("sampling", "if temperature > 0 else logits", "if temperature > 0 else logits + gumbel[:, s]",
          "noise added at T = 0", "sampling-hidden"),
        m("sampling", "    return x\n", "    return x[:, prompt.shape[1]:]\n", "the prompt left out of the result",
          "sampling-public"),
        m("cache", "y_t = (weights[:, None, :] @ V)[:, 0, :]", "y_t = v_t",
          "the new token attends only to itself: the cache appended but not read", "cache-public"),
        m("cache", " / math.sqrt(W_Q.shape[1])", "", "no √d_k", "cache-public"),
        m("cache", "weights = torch.softmax(scores, dim=-1)", "weights = torch.softmax(scores, dim=0)",
          "the softmax over the batch, not the keys", "cache-public"),
        m("cache", "return y_t, (K, V)", "return y_t, (K_cache, V_cache)", "the cache returned without the new token",
          "cache-public"),
        m("cache", "torch.cat([K_cache, k_t[:, None, :]], dim=1)", "torch.cat([k_t[:, None, :], K_cache], dim=1)",
          "the key prepended, the value appended: keys and values misaligned", "cache-public"),
    ],
}


@pytest.fixture(scope="module", params=sorted(MUTANTS))
def graded(request):
    exercise = request.param
    mutants = [mutant for mutant, _ in MUTANTS[exercise]]
    return exercise, grade_mutants(ROOT / "solutions" / f"{exercise}.ipynb", mutants)


def test_every_exercise_has_mutants():
    exercises = sorted(p.stem for p in (ROOT / "solutions").glob("[0-9]*.ipynb"))
    assert sorted(MUTANTS) == exercises, "add the new exercise's mutants to MUTANTS"
    for exercise, mutants in MUTANTS.items():
        answers = {mutant.answer for mutant, _ in mutants}
        assert len(mutants) >= 2 * len(answers), f"{exercise}: at least two mutants per answer cell"


def test_the_solution_scores_full_points_and_every_mutant_loses_points(graded):
    exercise, results = graded
    solution, mutants = results[0], results[1:]
    assert not solution.error and solution.points == solution.max_points, (exercise, solution)
    survivors = [f"{g.what} ({g.points:g}/{g.max_points:g}){': ' + g.error[-300:] if g.error else ''}"
                 for g in mutants if g.error or g.points >= g.max_points]
    assert survivors == [], f"{exercise}: mutants that keep full points: {survivors}"


def test_each_mutant_is_caught_by_the_test_that_should(graded):
    """A public test for the common slips (the student learns of them at once), a hidden test
    for the subtle ones: a mutant that only a later, unrelated test catches means its own test
    is weak."""
    exercise, results = graded
    wrong = []
    for (mutant, caught_by), g in zip(MUTANTS[exercise], results[1:]):
        if g.tests.get(caught_by, 1.0) != 0.0:
            wrong.append(f"{mutant.what}: {caught_by} passed it (failed: {sorted(g.failures) or 'none'})")
    assert wrong == [], f"{exercise}: " + "; ".join(wrong)
