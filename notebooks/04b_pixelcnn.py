# %% [markdown]
# # 04b · Autoregressive models II: PixelCNN, its blind spot, the gated PixelCNN and colour
#
# **Learning objectives.** After this lecture you can
# 1. turn MADE's masks into **masked convolutions**: mask A for the first layer (the centre pixel is hidden), mask B after it (the centre's own features are allowed), and say why using mask B first breaks the model;
# 2. find what one output depends on by **autograd**, and see the masked PixelCNN's **blind spot** — earlier pixels that no depth of masked 3×3 convolutions reaches — and how the **gated PixelCNN**'s vertical and horizontal stacks remove it;
# 3. model **colour** with the ordering R → G → B inside every pixel (masks per channel group), and count the network passes sampling needs;
# 4. compare the convolutional models with lecture 04a's in exact test bits/dim, and complete digits from their top rows.
#
# **Time:** about 60 minutes of reading and playing; the notebook runs top to bottom in a little over a minute on a 2-core laptop CPU the first time (75 s measured cold by `benchmarks/notebook_times.py`), in seconds afterwards (the trained models are cached on disk).
# **Before you start:** lecture 04a (the chain rule, teacher forcing, MADE's masks) is the background. Lecture 04c continues with WaveNet and fast sampling.

# %%
import course_setup  # Colab or a bare Jupyter: installs coursekit from this repository if it is missing

# %% tags=["parameters"]
# Parameters (papermill can override this cell). The defaults run the lecture in about a minute on a 2-core CPU.
SEED = 0             # every random number below follows from it
DEVICE = "auto"      # "auto" = CUDA, then Apple MPS, then CPU
DATA = "digits"      # "digits" (8×8, 17 grey levels, ships with the course) or "mnist" (28×28)         GPU: "mnist"
MNIST_ROOT = None    # for DATA = "mnist": the folder with the IDX files (coursekit.data.mnist.download fetches them)
BINARIZE = False     # True: pixels 0/1, the setting of the published MNIST numbers                      GPU: True
EPOCHS = 30          # at most (early stopping on the validation NLL, best weights kept)                  GPU: 50
PATIENCE = 5         # epochs without a better validation NLL before stopping
LR = 3e-3            # Adam's step size
CHANNELS = 64        # feature maps of both PixelCNNs                                                   GPU: 128
LAYERS = 4           # masked: residual blocks after the mask-A layer; gated: gated layers              GPU: 12
COLOUR_LEVELS = 4    # levels per channel of the coloured digits (R, G, B)
CACHE_DIR = None     # trained models are kept here (None: $COURSEKIT_CACHE, else ~/.cache/coursekit)
RETRAIN = False      # True: train every model again even if a cached one exists

# %%
import time

import torch
from IPython.display import Markdown, display

from coursekit import data, evaluation, resolve_device, seed_everything, viz
from coursekit.evaluation import evaluate_model, format_table
from coursekit.models import GatedPixelCNN, PixelCNN
from coursekit.models.layers import MaskedConv2d
from coursekit.models.pixelcnn import receptive_field
from coursekit.training import train, train_cached

generator = seed_everything(SEED)
device = resolve_device(DEVICE)
if device.type == "cpu":
    torch.set_num_threads(1)   # these networks are small: one thread is faster than two that fight for a busy CPU
splits = data.load(DATA, **({"root": MNIST_ROOT} if DATA in ("mnist", "fashion_mnist") else {}))
if BINARIZE:
    splits = data.binarized(splits)
K, SHAPE, D = splits.train.levels, tuple(splits.train.x.shape[1:]), splits.train.dims
loaders = data.loaders(splits, batch_size=64 if DATA == "digits" else 128, seed=SEED)
test_x = splits.test.x.to(device)
print(f"torch {torch.__version__} on {device}; {DATA}: {[len(s) for s in splits]} images of shape {SHAPE}, "
      f"K = {K} levels, D = {D} pixels")

def fit(name, model, loaders=loaders, epochs=EPOCHS):
    """Adam with early stopping on the validation NLL (best weights kept), cached on disk."""
    torch.manual_seed(SEED)
    model = model.to(device)
    start = time.perf_counter()
    history = train_cached(model, loaders["train"], val_data=loaders["val"], epochs=epochs, patience=PATIENCE, lr=LR,
                           seed=SEED, device=device, cache_dir=CACHE_DIR, retrain=RETRAIN, name=name, progress=False)
    model.eval()
    where = "loaded from the cache" if history.from_cache else f"trained in {time.perf_counter() - start:.1f} s"
    print(f"{name}: {sum(p.numel() for p in model.parameters()):,} parameters, {len(history['epoch'])} epochs "
          f"(best {history.best_round + 1}), {where}")
    return model

# %% [markdown]
# ## 1. From masked layers to masked convolutions
#
# MADE (lecture 04a) gives each output its own weights. Images suggest something cheaper: the conditional of pixel $(i, j)$ should look at its neighbourhood the same way wherever it is — a **convolution**. PixelRNN (van den Oord et al., 2016a) first ran LSTMs along the rows, which is exact but sequential even in training; **PixelCNN** replaces them with convolutions whose kernels are multiplied by a mask so that the output at $(i, j)$ only sees pixels before $(i, j)$ in raster order:
# $$y = (W \odot M) * x + b .$$
# - **Mask A** (first layer, on the image): the rows above, and the pixels to the left in the centre row; **not** the centre. Its output at $(i, j)$ depends on $x_{<(i,j)}$ only.
# - **Mask B** (every later layer): the same plus the centre. The features at $(i, j)$ already depend only on $x_{<(i,j)}$, so using them is allowed, and needed: with mask A in every layer, each layer would shift what a position sees one more pixel back, so $x_{i,j-1}$, the nearest pixel, would already drop out of $\ell_{ij}$ after two layers.
#
# With teacher forcing all $D$ conditionals again come out of one pass, now with weights shared across positions. The cell prints the two 5×5 masks.

# %%
for mask_type in "AB":
    mask = MaskedConv2d(1, 1, 5, mask_type=mask_type).mask[0, 0].int()
    print(f"mask {mask_type}:\n" + "\n".join("  " + " ".join(map(str, row.tolist())) for row in mask))

# %% [markdown]
# > **Common mistake: mask B in the first layer.** Then the output at $(i, j)$ sees $x_{ij}$ itself and can learn to copy it: the loss keeps falling far below anything a real model of these digits reaches, yet the "model" is not a distribution (each factor is still a softmax, but the product $\prod_d p(x_d \mid x_{\le d})$, summed over all images, is no longer 1 and can be far above it), and sampling from it fails because at sampling time $x_{ij}$ is not known yet. A loss that looks too good is the symptom. The cell builds the course's PixelCNN twice, once as it is and once with its first mask swapped for mask B, and trains both for five epochs.

# %%
def five_epochs(first_mask):
    torch.manual_seed(SEED)
    model = PixelCNN(shape=SHAPE, levels=K, channels=CHANNELS, layers=LAYERS).to(device)
    first = model.conv_A
    model.conv_A.set_mask(MaskedConv2d(first.in_channels, first.out_channels, first.kernel_size[0],
                                       mask_type=first_mask).mask)
    history = train(model, loaders["train"], val_data=loaders["val"], epochs=5, lr=LR, seed=SEED, device=device,
                    progress=False)
    return model, history["val/bits_per_dim"]

for first_mask in "AB":
    model, curve = five_epochs(first_mask)
    centre = (SHAPE[1] // 2, SHAPE[2] // 2)
    print(f"mask {first_mask} first: validation bits/dim by epoch " + ", ".join(f"{v:.3f}" for v in curve) +
          f"; ℓ{centre} depends on x{centre}: {receptive_field(model, centre)[centre].item()}")

# %% [markdown]
# ## 2. The masked PixelCNN
#
# The course's `PixelCNN` is the paper's: a 7×7 mask-A convolution, `LAYERS` residual blocks (1×1, masked 3×3 of type B, 1×1, with ReLUs), and a head of two 1×1 convolutions that gives the $K$ logits of every pixel (`coursekit/models/pixelcnn.py`).

# %%
masked = fit("pixelcnn", PixelCNN(shape=SHAPE, levels=K, channels=CHANNELS, layers=LAYERS))
rows = {"masked": evaluate_model(masked, splits.test, name=f"PixelCNN ({CHANNELS} × {LAYERS}, masked)",
                                 train_split=splits.train)}
print(f"masked PixelCNN: {rows['masked'].bits_per_dim:.3f} test bits/dim")

# %% [markdown]
# ## 3. The blind spot, made visible
#
# Which input pixels does the conditional at $(i, j)$ depend on? Autograd answers it: backpropagate the logits $\ell_{ij}$ to the input and look where the gradient is non-zero (`pixelcnn.receptive_field`, over a few random images, so that a ReLU that happens to be off does not hide a path). For a correct model nothing at or after $(i, j)$ may light up. But stacked masked 3×3 convolutions also **miss** earlier pixels: each layer can look up-left, up and up-right one step, yet it cannot look right in its own row, so the pixels up and to the right, beyond what the first layer covers, are never reached, however deep the stack. That is the **blind spot** (orange below).
#
# The **gated PixelCNN** (van den Oord et al., 2016b) removes it with two stacks: a **vertical** stack whose $k \times k$ convolutions are cut to the rows at and above the output and then shifted down one row, so it sees every column of the rows above within its reach; and a **horizontal** stack, a $1 \times (\lfloor k/2 \rfloor + 1)$ convolution over the pixel and those to its left in the current row (the first layer reads the input shifted right by one column, so it never sees $x_{ij}$), which receives the vertical stack's features through a 1×1 link. Together they see every earlier pixel within their reach: no blind spot. Each layer is gated, $y = \tanh(W_f * x) \odot \sigma(W_g * x)$, and the horizontal stack is residual. The picture shows both receptive fields at the same position, computed by autograd on the trained models.

# %%
position = (SHAPE[1] // 2, max(SHAPE[2] // 4, 1))
gated = fit("gated-pixelcnn", GatedPixelCNN(shape=SHAPE, levels=K, channels=CHANNELS // 2, layers=LAYERS + 1,
                                            head=CHANNELS // 2))
fields = {"masked PixelCNN": receptive_field(masked, position), "gated PixelCNN": receptive_field(gated, position)}
earlier = position[0] * SHAPE[2] + position[1]
for name, field in fields.items():
    print(f"{name}: ℓ{position} depends on {int(field.sum())} of the {earlier} earlier pixels")
viz.show(viz.receptive_field_figure(fields, position),
         alt=f"Two {SHAPE[1]}×{SHAPE[2]} grids: which earlier pixels the conditional at {position} depends on. The masked "
             "PixelCNN misses a block of pixels up and to the right (the blind spot); the gated PixelCNN sees every "
             "earlier pixel and nothing after the position.")
rows["gated"] = evaluate_model(gated, splits.test, name=f"Gated PixelCNN ({CHANNELS // 2} × {LAYERS + 1})",
                               train_split=splits.train)
print(f"gated PixelCNN: {rows['gated'].bits_per_dim:.3f} test bits/dim")

# %% [markdown]
# > **Common mistake.** The workshop slides (seed 003) say: "Limit the context to the last j pixels only $p(x_i | x_{i-1}, \dots, x_{i-j})$, e.g. $j = 5$. => faster training + can be parallelized". The speed-up does not come from a short context: it comes from the masks, which let one pass compute every conditional from the true earlier pixels (teacher forcing). The context is a receptive field (a region above and to the left, with a blind spot in the masked model), and its limit is a *weakness* that depth, dilation or the gated stacks work against, not the source of parallel training.
#
# ## 4. Colour: R → G → B inside every pixel
#
# A colour image has $3HW$ dimensions. PixelCNN orders them pixel by pixel, and inside a pixel red, then green, then blue:
# $$p(x_{ij}) = p(x_{ij}^R \mid x_{<(i,j)})\; p(x_{ij}^G \mid x_{<(i,j)}, x_{ij}^R)\; p(x_{ij}^B \mid x_{<(i,j)}, x_{ij}^R, x_{ij}^G).$$
# The feature maps are split into three groups, one per colour, and the masks get a second rule for the centre tap: in mask A a group sees only the *earlier* colours of the centre pixel (G sees R, B sees R and G, R sees none), in mask B also its own. Off the centre, every group sees every colour of the earlier pixels. The cell prints the centre tap of mask A and mask B between the three groups, trains a colour PixelCNN on the coloured digits (`data.colour_digits`, `COLOUR_LEVELS` levels per channel) and compares it with the per-pixel floor.

# %%
for mask_type in "AB":
    centre = MaskedConv2d(3, 3, 3, mask_type=mask_type, channel_groups=3).mask[:, :, 1, 1].int()   # (out, in) groups
    print(f"mask {mask_type}, centre tap (rows: output R, G, B; columns: input R, G, B): {centre.tolist()}")
colour = data.load("colour_digits", levels=COLOUR_LEVELS, seed=SEED)
colour_loaders = data.loaders(colour, batch_size=64, seed=SEED)
pixelcnn_rgb = fit("pixelcnn-colour", PixelCNN(shape=tuple(colour.train.x.shape[1:]), levels=colour.train.levels,
                                               channels=CHANNELS // 2, layers=LAYERS // 2, head=CHANNELS // 2),
                   loaders=colour_loaders)
rgb_row = evaluate_model(pixelcnn_rgb, colour.test, name="colour PixelCNN", train_split=colour.train)
print(f"colour PixelCNN: {rgb_row.bits_per_dim:.3f} test bits/dim (uniform {rgb_row.uniform_bits_per_dim:.3f}, "
      f"per-pixel floor {rgb_row.floor_bits_per_dim:.3f}); sampling an image takes {colour.train.dims} passes "
      f"(3 × {colour.train.dims // 3} pixels)")
viz.show(viz.image_grid(torch.cat([colour.test.x[:8].cpu(), pixelcnn_rgb.sample(16, generator=torch.Generator().manual_seed(SEED)).cpu()]),
                        nrow=8, levels=colour.train.levels),
         alt="Top row: eight coloured test digits, each stroke one colour; two rows below: sixteen samples of the colour "
             "PixelCNN, whose strokes often mix colours within one digit.")

# %% [markdown]
# Next to the test digits of the top row, whose strokes each have one colour, many samples mix colours within one digit: keeping one colour along a whole stroke is a long-range dependency that this small model does not capture, although its bits/dim is far below the per-pixel floor (most of the pixels are background, and predicting black there is easy).
#
# > **Common mistake.** "For a 32x32 image, we need to do forward passes of the network 1024 times for a single image" (seed 001) counts pixels; in colour with the R → G → B ordering it is $3 \times 1024 = 3072$, because green cannot be drawn before red is known. Lecture 04c measures what these passes cost and how caching cuts them.
#
# ## 5. The table, and completions
#
# Every number here is an exact test NLL. Lecture 04a's models are not retrained here; their numbers (04a's run, and `benchmarks/ar_bits_per_dim.py` over three seeds) are quoted below the table.

# %%
display(Markdown(format_table(list(rows.values()))))
known = torch.zeros(SHAPE, dtype=torch.bool)
known[:, : SHAPE[1] // 2] = True                        # the top half of every test digit is given
generator = torch.Generator().manual_seed(SEED)
shown = [test_x[:8].cpu().float(), torch.where(known, test_x[:8].cpu().float(), torch.tensor(float("nan")))]
for model in (masked, gated):
    shown.append(model.complete(test_x[:8], known.to(device), generator=generator).cpu().float())
viz.show(viz.image_grid(torch.cat(shown), nrow=8, levels=K),
         alt="Four rows of eight digits: the test digits; their top halves (bottom hidden); the masked PixelCNN's "
             "completions; the gated PixelCNN's completions.")

# %% [markdown]
# The picture's rows, top to bottom: eight test digits; their top halves, the bottom hidden (white); the masked PixelCNN's completions; the gated PixelCNN's completions, each drawn from $p(x_\text{bottom} \mid x_\text{top})$ at $T = 1$.
#
# **Reading the table** (measured with the default parameters, seed 0, the 447 test digits): the masked PixelCNN 1.896 bits/dim, the gated PixelCNN 1.838 — both below lecture 04a's FVSBN, NADE and MADE (2.066 to 2.087 in its run) and far below the per-pixel floor 2.398. The masked model was still improving when `EPOCHS = 30` stopped it (its best epoch is its last), so this run favours the gated one a little. Trained until early stopping, over seeds 0, 1, 2, `benchmarks/ar_bits_per_dim.py` measured a mean of 1.878 bits/dim for the masked and 1.838 for the gated PixelCNN, the gated one better on every seed (1.832, 1.841, 1.842 against 1.877, 1.886, 1.869), beside FVSBN 2.086, NADE 2.060, MADE 2.048 (one ordering) and 2.055 (eight orderings), and lecture 04c's WaveNet 1.835. Earlier in the notebook, mask B in the first layer reached 1.161 after five epochs and was still falling: lower than every honest model here, which is exactly why it is suspicious. For scale on the standard benchmarks, the gated PixelCNN of the uvadlc notebooks reaches about 0.81 bits/dim on 8-bit MNIST, and PixelCNN 81.3 nats on binarised MNIST (van den Oord et al., 2016); `DATA = "mnist"` on a GPU trains these models there.
#
# ## Summary
#
# - Masked convolutions make a conv net autoregressive: mask A (no centre) on the image, mask B (centre allowed) after it. Mask B first lets a pixel see itself: a loss that is too good to be true.
# - Autograd shows what a conditional depends on. Masked 3×3 stacks have a blind spot up and to the right; the gated PixelCNN's vertical and horizontal stacks see every earlier pixel.
# - Colour orders R → G → B inside each pixel with masks per channel group; sampling then takes $3HW$ passes.
# - Training is one pass (teacher forcing); sampling is $D$ passes — lecture 04c measures it and makes it faster.
#
# **Exercises.** The graded exercise `exercises/04_autoregressive.ipynb` builds masks A and B and a stack's receptive field (task 3) and the sampler (task 4). Try also: (a) set `LAYERS = 8`: does the masked PixelCNN's blind spot shrink? (b) give the colour model the raster order of $(C, H, W)$ — all red first — by thinking through which masks that would need: what would the first red pixel be allowed to see? (c) Complete digits from only their top two rows: how often is the class kept?
#
# **References.**
# - A. van den Oord, N. Kalchbrenner, K. Kavukcuoglu, *Pixel Recurrent Neural Networks*, ICML 2016 (2016a) — PixelRNN, PixelCNN, masks A and B, R → G → B.
# - A. van den Oord, N. Kalchbrenner, O. Vinyals, L. Espeholt, A. Graves, K. Kavukcuoglu, *Conditional Image Generation with PixelCNN Decoders*, NeurIPS 2016 (2016b) — the gated PixelCNN and its two stacks.
# - T. Salimans, A. Karpathy, X. Chen, D. P. Kingma, *PixelCNN++*, ICLR 2017 — discretised logistic mixtures, down-sampling.
# - P. Lippe, *UvA Deep Learning Tutorials*, Tutorial 12: Autoregressive Image Modeling, https://uvadlc-notebooks.readthedocs.io — a gated PixelCNN on MNIST (about 0.81 bits/dim on 8-bit MNIST, as the tutorial reports).
