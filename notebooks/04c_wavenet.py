# %% [markdown]
# # 04c · Autoregressive models III: WaveNet, dilation and fast sampling
#
# **Learning objectives.** After this lecture you can
# 1. build a **causal convolution** on a sequence (shift right by one step, pad on the left only) and say why it is the 1-D version of PixelCNN's mask A then mask B;
# 2. compute how far a stack of **dilated** causal convolutions reaches, $1 + \sum_l (k - 1)\,d_l$, check it by autograd, and see why doubling the dilation makes the reach grow exponentially in the depth;
# 3. train a WaveNet on the digits read as 64-step sequences and place it in lecture 04's table of exact bits/dim;
# 4. **measure** what sequential sampling costs against the number of pixels, and make it faster without changing a single sample by **caching** (Fast WaveNet).
#
# **Time:** about 45 minutes of reading; the notebook runs top to bottom in about a minute on a 2-core laptop CPU the first time (52 s measured cold by `benchmarks/notebook_times.py`), in seconds afterwards (the trained model is cached on disk).
# **Before you start:** lectures 04a (the chain rule, teacher forcing, temperature) and 04b (masked convolutions, receptive fields by autograd).

# %%
import course_setup  # Colab or a bare Jupyter: installs coursekit from this repository if it is missing

# %% tags=["parameters"]
# Parameters (papermill can override this cell). The defaults run the lecture in about a minute on a 2-core CPU.
SEED = 0             # every random number below follows from it
DEVICE = "auto"      # "auto" = CUDA, then Apple MPS, then CPU
DATA = "digits"      # "digits" (8×8, 17 grey levels, ships with the course) or "mnist" (28×28)         GPU: "mnist"
MNIST_ROOT = None    # for DATA = "mnist": the folder with the IDX files (coursekit.data.mnist.download fetches them)
EPOCHS = 40          # at most (early stopping on the validation NLL, best weights kept)                  GPU: 50
PATIENCE = 5         # epochs without a better validation NLL before stopping
LR = 3e-3            # Adam's step size
CHANNELS = 48        # WaveNet's residual channels                                                     GPU: 128
DILATIONS = (1, 2, 4, 8, 16, 32)   # one gated layer each: a reach of 65 steps ≥ 64 pixels           GPU / MNIST: (1, 2, …, 512)
TIMING_PIXELS = (16, 36, 64, 144)  # sequence lengths D for the sampling-time measurement              GPU: add 256, 784
TIMING_SAMPLES = 100               # images drawn per timing
CACHE_DIR = None     # trained models are kept here (None: $COURSEKIT_CACHE, else ~/.cache/coursekit)
RETRAIN = False      # True: train the model again even if a cached one exists

# %%
import time

import torch
from IPython.display import Markdown, display

from coursekit import data, resolve_device, seed_everything, viz
from coursekit.evaluation import evaluate_model, format_table
from coursekit.models import WaveNet
from coursekit.models.layers import CausalConv1d
from coursekit.models.wavenet import receptive_field_size
from coursekit.training import train_cached

generator = seed_everything(SEED)
device = resolve_device(DEVICE)
if device.type == "cpu":
    torch.set_num_threads(1)   # these networks are small: one thread is faster than two that fight for a busy CPU
splits = data.load(DATA, **({"root": MNIST_ROOT} if DATA in ("mnist", "fashion_mnist") else {}))
K, SHAPE, D = splits.train.levels, tuple(splits.train.x.shape[1:]), splits.train.dims
loaders = data.loaders(splits, batch_size=64 if DATA == "digits" else 128, seed=SEED)
test_x = splits.test.x.to(device)
print(f"torch {torch.__version__} on {device}; {DATA}: {[len(s) for s in splits]} images of shape {SHAPE}, "
      f"K = {K} levels, read as sequences of D = {D} steps")

# %% [markdown]
# ## 1. Causal convolutions
#
# WaveNet (van den Oord et al., 2016) was built for audio: 16,000 samples a second, each a categorical over 256 levels, $p(x) = \prod_t p(x_t \mid x_{<t})$. Its conditionals come from a stack of **causal** 1-D convolutions: the output at step $t$ may depend on inputs at steps $\le t$ only. A convolution of kernel $k$ is made causal by padding $k - 1$ zeros on the **left** and none on the right. Stacked, the outputs at $t$ then see inputs $\le t$ — including $x_t$ itself. So, like PixelCNN's mask A, the first layer must not see the current step: WaveNet here feeds the sequence **shifted right by one**, $s_t = x_{t-1}$ (and $s_1 = 0$), after which every layer may use step $t$ (mask B's role).
#
# An image becomes a sequence by reading it in raster order: the 8×8 digits are 64 steps. The cell checks causality on one causal convolution by autograd.

# %%
conv = CausalConv1d(1, 1, kernel_size=3, dilation=2)
x_seq = torch.randn(1, 1, 10, requires_grad=True)
y = conv(x_seq)                                          # (1, 1, 10): one output per step, none cropped
(grad,) = torch.autograd.grad(y[0, 0, 6], x_seq)
print(f"kernel 3, dilation 2: the output at step 6 depends on steps {grad[0, 0].nonzero().flatten().tolist()}")

# %% [markdown]
# ## 2. Dilation: a reach that doubles with every layer
#
# A causal convolution with kernel $k$ and dilation $d$ gives step $t$ the inputs $t, t - d, \dots, t - (k-1)d$. Stacking layers adds their reaches: a stack of kernels $k$ and dilations $d_1, \dots, d_L$ sees
# $$R = 1 + \sum_{l=1}^{L} (k - 1)\, d_l$$
# consecutive steps. With $k = 2$ and no dilation, $L$ layers see $L + 1$ steps: 64 pixels would need 63 layers. With dilations $1, 2, 4, \dots, 2^{L-1}$ they see $2^L$ steps: six layers cover the 64 pixels (`DILATIONS`). The figure plots both; the cell after it checks the formula against autograd on the WaveNet this lecture trains: the farthest earlier step whose input changes the last step's logits.

# %%
layers = range(1, len(DILATIONS) + 1)
growth = {"dilations 1, 2, 4, …": [receptive_field_size(2, [2 ** i for i in range(L)]) for L in layers],
          "no dilation": [receptive_field_size(2, [1] * L) for L in layers]}
for name, sizes in growth.items():
    print(f"{name:22s}: receptive field after 1..{len(sizes)} layers = {sizes}")
viz.show(viz.receptive_field_growth_figure(growth),
         alt="Receptive field against the number of layers on a log scale: dilations 1, 2, 4, … double it with every "
             "layer (2, 4, …, 64); without dilation it grows by one per layer (2, 3, …, 7).")

# %%
def fit(name, model):
    """Adam with early stopping on the validation NLL (best weights kept), cached on disk."""
    torch.manual_seed(SEED)
    model = model.to(device)
    start = time.perf_counter()
    history = train_cached(model, loaders["train"], val_data=loaders["val"], epochs=EPOCHS, patience=PATIENCE, lr=LR,
                           seed=SEED, device=device, cache_dir=CACHE_DIR, retrain=RETRAIN, name=name, progress=False)
    model.eval()
    where = "loaded from the cache" if history.from_cache else f"trained in {time.perf_counter() - start:.1f} s"
    print(f"{name}: {sum(p.numel() for p in model.parameters()):,} parameters, {len(history['epoch'])} epochs "
          f"(best {history.best_round + 1}), {where}")
    return model

wavenet = fit("wavenet", WaveNet(shape=SHAPE, levels=K, channels=CHANNELS, dilations=DILATIONS, skip=CHANNELS,
                                 head=CHANNELS))
x_tilde = wavenet.input_features(test_x[:32]).requires_grad_(True)
logits = wavenet.conditional_logits(x_tilde).flatten(2)                 # (32, K, D)
(grad,) = torch.autograd.grad(logits[:, :, D - 1].sum(), x_tilde)
seen = (grad.abs().sum((0, 1)).flatten() != 0).nonzero().flatten()      # steps ℓ_D depends on
k, k0 = wavenet.config.kernel, wavenet.config.first_kernel
print(f"formula: 1 + ({k0} − 1) for the first causal convolution + Σ_l ({k} − 1)·d_l over {DILATIONS} = "
      f"{1 + (k0 - 1) + sum((k - 1) * d for d in DILATIONS)} = wavenet.receptive_field "
      f"{wavenet.receptive_field} steps of the shifted input, so ℓ_t may see x_(t−{wavenet.receptive_field})..x_(t−1)")
print(f"autograd: ℓ at step {D - 1} depends on steps {seen.min().item()}..{seen.max().item()} ({len(seen)} steps: "
      f"every earlier one), and on step {D - 1} itself: {bool((seen == D - 1).any())}")
row = evaluate_model(wavenet, splits.test, name=f"WaveNet ({CHANNELS} channels, dilations {DILATIONS})",
                     train_split=splits.train)
display(Markdown(format_table([row])))

# %% [markdown]
# Measured with the default parameters (seed 0): WaveNet reaches 1.828 test bits/dim, exact, the best number of lecture 04 in a single run (the gated PixelCNN of 04b: 1.838), from a model that knows nothing about two dimensions beyond a learned embedding of each step's row and column (`positions`: a 1-D convolution cannot tell which column a step is in, and the end of a row from the start of the next). Over seeds 0, 1, 2, trained until early stopping, `benchmarks/ar_bits_per_dim.py` measured a mean of 1.835 bits/dim for WaveNet (1.823, 1.852, 1.831; 31 s of training on average) and 1.838 for the gated PixelCNN (36 s): the two are within a seed's spread of each other. The target for the course's best autoregressive model, 1.88 bits/dim or better in about a minute of CPU training, is met by both.
#
# ## 3. What sampling costs, measured
#
# Training computed all 64 conditionals in one pass. Sampling cannot: step $t$ needs the value drawn at step $t-1$. The naive sampler (the base class's, shared by every model of lecture 04) runs the whole network over the whole sequence once per step: $D$ passes, each over $D$ steps, so its cost grows like $D^2$.
#
# **Fast WaveNet** (Paine et al., 2016) notices that the new step of layer $l$ needs that layer's inputs at $t, t - d_l, \dots, t - (k-1)d_l$ only, all computed at earlier steps. Each layer keeps a queue of its last $(k-1)d_l$ inputs, and one step costs one column through every layer: $O(L)$ per step, $O(LD)$ per image. Same weights, same arithmetic, no approximation: with the same random numbers it must give the same images. The cell checks that on the trained model, then times both samplers for `TIMING_SAMPLES` images of untrained WaveNets of this configuration at several lengths $D$ (sampling costs the same whatever the weights are).

# %%
same_noise = lambda: torch.Generator().manual_seed(SEED)
naive = wavenet.sample(16, generator=same_noise(), cached=False)
cached = wavenet.sample(16, generator=same_noise(), cached=True)
print(f"16 samples, naive vs cached with the same random numbers: identical = {torch.equal(naive, cached)}")

times = {"naive (D passes)": [], "cached (Fast WaveNet)": []}
for pixels in TIMING_PIXELS:
    side = int(pixels ** 0.5)
    torch.manual_seed(SEED)
    timed = WaveNet(shape=(1, side, side), levels=K, channels=CHANNELS, dilations=DILATIONS, skip=CHANNELS,
                    head=CHANNELS).to(device).eval()
    for name, use_cache in (("naive (D passes)", False), ("cached (Fast WaveNet)", True)):
        start = time.perf_counter()
        timed.sample(TIMING_SAMPLES, generator=same_noise(), cached=use_cache)
        times[name].append(time.perf_counter() - start)
    naive_s, cached_s = times["naive (D passes)"][-1], times["cached (Fast WaveNet)"][-1]
    print(f"D = {pixels:4d}: naive {naive_s:6.2f} s, cached {cached_s:5.2f} s, {naive_s / cached_s:5.1f}× faster")
viz.show(viz.sampling_time_figure(TIMING_PIXELS, times),
         alt="Seconds to draw 100 samples against the number of pixels, log-log: the naive sampler's line is steeper "
             "than the dotted line proportional to D (its cost grows like D squared); the cached sampler's is close "
             "to proportional to D and far below.")

# %% [markdown]
# Measured with the default parameters, on this 2-core CPU: drawing 100 images took the naive sampler 0.13, 0.74, 1.58 and 7.67 s for $D$ = 16, 36, 64 and 144 pixels, and the cached one 0.02, 0.07, 0.06 and 0.14 s — 8.3×, 11.3×, 25.7× and 54.9× faster, a gap that grows with $D$ because the naive sampler's cost grows like $D^2$ (2.25 times the pixels from 64 to 144 cost it 4.9 times the time) and the cached one's roughly like $D$ (2.3 times). `benchmarks/ar_sampling_speed.py` times the same with repeats up to $D = 784$ (28×28), where it measured the cached sampler 641× faster in a full naive run (`--dims 784 --naive-full-max 784 --repeats 1`: 469 against 0.73 CPU seconds, identical images; its docstring's notes). Timings of a tenth of a second vary with the machine and its load; the ratios at large $D$ are what to read.
#
# > **Common mistake.** Caching is not an approximation, and it does not make training faster: training was already one parallel pass. It removes the *repeated* work of sampling, the columns of every layer that the naive sampler recomputes at every step. It also does not remove the sequential loop: $D$ steps remain, one after the other, which is why autoregressive models are slow to sample however well they are cached — the motivation for lecture 04d's codes, for flows and for diffusion's fewer steps.
#
# ## 4. Temperature, once more
#
# The same noise drawn at several temperatures (lecture 04a): the rows are $T = 0.5, 0.8, 1, 1.2$, top to bottom, each drawn by the cached sampler from the same generator.

# %%
rows_T = [wavenet.sample(12, temperature=T, generator=same_noise()) for T in (0.5, 0.8, 1.0, 1.2)]
viz.show(viz.image_grid(torch.cat(rows_T), nrow=12, levels=K),
         alt="Four rows of twelve WaveNet samples drawn with the same random numbers at temperatures 0.5, 0.8, 1 and "
             "1.2, top to bottom; the higher rows have fewer stray grey pixels.")

# %% [markdown]
# ## Summary
#
# - A causal convolution pads on the left; with the input shifted right by one step, the logits of step $t$ see $x_{<t}$ only (PixelCNN's masks A and B in one dimension).
# - Dilations $1, 2, 4, \dots$ double the reach with every layer: $R = 1 + \sum_l (k-1) d_l$, checked by autograd.
# - Naive sampling costs $D$ full passes ($\propto D^2$); Fast WaveNet's queues make a step $O(L)$ and give the identical samples; the $D$ sequential steps remain.
#
# **Exercises.** The graded exercise `exercises/04_autoregressive.ipynb` (task 4) writes the sampling loop. Try also: (a) set `DILATIONS = (1, 1, 1, 1, 1, 1)`: what does the model see, and what happens to its bits/dim? (b) add 256 and 784 to `TIMING_PIXELS`: does the speed-up keep growing, and why? (c) Why can the cache not be used for a PixelCNN as simply? (Hint: what does one new pixel change in each layer of a 2-D stack?)
#
# **References.**
# - A. van den Oord, S. Dieleman, H. Zen, K. Simonyan, O. Vinyals, A. Graves, N. Kalchbrenner, A. Senior, K. Kavukcuoglu, *WaveNet: A Generative Model for Raw Audio*, 2016.
# - T. Le Paine, P. Khorrami, S. Chang, Y. Zhang, P. Ramachandran, M. A. Hasegawa-Johnson, T. S. Huang, *Fast Wavenet Generation Algorithm*, 2016.
# - P. Ramachandran, T. Le Paine, P. Khorrami, M. Babaeizadeh, S. Chang, Y. Zhang, M. A. Hasegawa-Johnson, R. H. Campbell, T. S. Huang, *Fast Generation for Convolutional Autoregressive Models*, ICLR 2017 workshop — caching for PixelCNN++ too.
# - S. Bai, J. Z. Kolter, V. Koltun, *An Empirical Evaluation of Generic Convolutional and Recurrent Networks for Sequence Modeling*, 2018 — temporal convolutional networks (TCN).
