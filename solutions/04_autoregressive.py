# %% [markdown] coursekit={"id": "intro", "kind": "locked"}
# # Exercise 04 · The chain rule, MADE's masks, PixelCNN's masks and the sampler
#
# Goes with lecture 04a (the chain rule, MADE, sampling) and lecture 04b (PixelCNN). **21 points:** 8 from public tests, 13 from hidden tests.
#
# You will write, with plain torch, the four pieces every autoregressive model of lecture 04 is made of: the loss $-\log p(x)$ of an image by the chain rule in raster order, and its bits per dimension; MADE's degrees and masks for any ordering of the pixels; PixelCNN's mask A and mask B, and which pixels a stack of masked convolutions sees (its blind spot included); and the sampler that draws an image one dimension at a time. Nothing is trained: the whole notebook runs in a few seconds.
#
# `coursekit.models.layers` holds the course's own masks, in its own conventions (its `order` argument of `made_degrees` is the degrees $m^0$, 1-based, not the visiting order used here). Work from the lecture's equations; read that file afterwards to compare.
#
# **How this works.** Write your code only in the cells that say `YOUR CODE HERE` (the other cells are locked). After each task, run the public test cell below it: it tells you what it expected and what it got. Hidden tests, run by your instructor's grader, decide the grade — the public tests are a minimum, not a guarantee. All your code must live in the answer cells: cells you add yourself are not run by the grader. You can check your points from a terminal with `coursekit check exercises/04_autoregressive.ipynb`.

# %% coursekit={"id": "setup", "kind": "locked"}
import math

import torch

from coursekit.grading.checks import check_close, check_shape, check_true

torch.set_num_threads(1)  # the problems here are small: one thread is the fastest
torch.manual_seed(0)
LEVELS = 256              # grey levels 0..255 in Task 1


def log_p_next(context):
    """Task 1's conditional model for images 3 pixels wide: log p(next pixel = v | the earlier pixels), v = 0..255, a
    (256,) float64 tensor. `context` is a 1-D tensor of the earlier pixels in raster order (empty for the first pixel).
    The first pixel is uniform; every later one is probably close to its neighbours: a discretised Gaussian of width
    σ = 40 around the mean of the pixel above (3 places back) and the pixel to its left, or around whichever exists."""
    t = len(context)
    if t == 0:
        return torch.full((LEVELS,), -math.log(LEVELS), dtype=torch.float64)
    neighbours = ([float(context[t - 3])] if t >= 3 else []) + ([float(context[t - 1])] if t % 3 != 0 else [])
    centre = sum(neighbours) / len(neighbours)
    v = torch.arange(LEVELS, dtype=torch.float64)
    return torch.log_softmax(-0.5 * ((v - centre) / 40.0) ** 2, dim=0)


example = torch.tensor([[100, 150, 200],
                        [50, 125, 175],
                        [25, 75, 225]])   # lecture 04a's worked 3×3 image, x_ij in row i, column j
print("log p(x_11 = 100), nothing seen yet:", round(float(log_p_next(torch.tensor([]))[100]), 4), "nats")
print("log p(x_12 = 150 | x_11 = 100):", round(float(log_p_next(torch.tensor([100]))[150]), 4), "nats")


# %% [markdown] coursekit={"id": "task-chain-rule", "kind": "locked"}
# ## Task 1 · The loss of one image by the chain rule (2 + 4 points)
#
# An autoregressive model writes the probability of an image as a product of conditionals, one pixel at a time in raster order (row by row, left to right). For an $H \times W$ image the loss is
# $$\mathcal L(x) = -\log p_\theta(x) = -\sum_{i=1}^{H} \sum_{j=1}^{W} \log p_\theta\big(x_{ij} \,\big|\, x_{1:i-1,\,:},\ x_{i,\,1:j-1}\big),$$
# each pixel conditioned on *every* row above it and on the pixels left of it in its own row — never on itself or on anything after it. For lecture 04a's 3×3 example (the set-up's `example`) the sum begins
# $$\mathcal L(x) = -\big[\log p_\theta(100) + \log p_\theta(150 \mid 100) + \log p_\theta(200 \mid 100, 150) + \log p_\theta(50 \mid 100, 150, 200) + \dots\big].$$
# Because it is a sum over the $D = HW$ pixels, models of images of different sizes are compared per dimension, in **bits**:
# $$\text{bits/dim} = \frac{\mathcal L(x)}{D \ln 2}.$$
#
# Write `chain_rule_nll(x, log_p_next)`: `x` is an (H, W) tensor of integer levels and `log_p_next(context)` a conditional model like the set-up's (it takes the earlier pixels as a 1-D tensor in raster order, empty for the first pixel, and returns the log-probabilities of the next pixel's K levels). Return $\mathcal L(x)$ in nats as a Python float. Then write `bits_per_dim(x, log_p_next)`, the same loss in bits per dimension. Images need not be square.

# %% coursekit={"id": "chain-rule", "kind": "answer"}
def chain_rule_nll(x, log_p_next):
    """L(x) = −Σ_i Σ_j log p(x_ij | x_{1:i−1,:}, x_{i,1:j−1}) in nats (a Python float), for an (H, W) image x of
    integer levels and a conditional model log_p_next(earlier pixels in raster order) → (K,) log-probabilities."""
    ### BEGIN SOLUTION
    H, W = x.shape
    flat = x.reshape(H * W).long()           # (H, W) → (D,): raster order, row by row
    total = 0.0
    for i in range(H):
        for j in range(W):
            t = i * W + j                     # the raster index of pixel (i, j)
            context = flat[:t]                # x_{1:i−1,:} (the rows above), then x_{i,1:j−1} (left of it)
            total -= float(log_p_next(context)[flat[t]])
    return total
    ### END SOLUTION


# %% coursekit={"id": "chain-rule-public", "kind": "public-test", "points": 1}
nll = chain_rule_nll(example, log_p_next)
check_true(isinstance(nll, float), f"chain_rule_nll should return a Python float, got {type(nll).__name__}")
check_close(nll, 48.142844, atol=1e-4, name="L(x) of the 3×3 example under the set-up's model, nats")
print(f"L(x) of the 3×3 example: {nll:.4f} nats")
print("Task 1 public test (chain rule) passed")

# %% coursekit={"id": "chain-rule-hidden", "kind": "hidden-test", "points": 3}
def reference_nll(x, model):   # the chain rule written out, one conditional at a time in raster order
    H, W = x.shape
    return -sum(float(model(x.flatten()[:i * W + j])[x[i, j]]) for i in range(H) for j in range(W))


def mean_model(context, K=7):   # a model that uses the whole context: how many pixels, their mean and the last one
    t = len(context)
    mean = float(context.double().mean()) if t else 0.0
    last = float(context[-1]) if t else 0.0
    k = torch.arange(K, dtype=torch.float64)
    return torch.log_softmax(-((k - 0.6 * mean - 0.3 * last) ** 2) / (1.0 + 0.3 * t) + 0.1 * k * (t % 3), dim=0)


g = torch.Generator().manual_seed(401)
for shape in [(3, 3), (2, 5), (4, 3), (1, 6), (5, 1)]:
    x = torch.randint(0, 7, shape, generator=g)
    got = chain_rule_nll(x, mean_model)
    check_true(isinstance(got, float), f"chain_rule_nll should return a Python float, got {type(got).__name__}")
    check_close(got, reference_nll(x, mean_model), rtol=1e-9, atol=1e-9,
                name=f"L(x) of a random {shape[0]}×{shape[1]} image under a model that reads the whole context")
# a model of binary images conditions on what it is given: summed over all 2^6 binary 2×3 images, p(x) = 1 exactly
# when each pixel is conditioned on the pixels before it (and only those)
table = torch.randn(7, 4, 2, generator=g, dtype=torch.float64)


def binary_model(context):
    t = len(context)
    ones = int(context.sum()) if t else 0
    return torch.log_softmax(table[t, min(ones, 3)] + (2.0 * float(context[-1]) if t else 0.0), dim=0)


everything = torch.tensor([[(n >> b) & 1 for b in range(6)] for n in range(64)]).view(64, 2, 3)   # (64, 2, 3)
total = sum(math.exp(-chain_rule_nll(image, binary_model)) for image in everything)
check_close(total, 1.0, rtol=1e-9, atol=1e-9, name="Σ over all 64 binary 2×3 images of p(x) = exp(−L(x))")
for image in everything[::9]:
    check_close(chain_rule_nll(image, binary_model), reference_nll(image, binary_model), rtol=1e-9, atol=1e-9,
                name=f"L(x) of the binary 2×3 image {image.tolist()}")


# %% coursekit={"id": "bits", "kind": "answer"}
def bits_per_dim(x, log_p_next):
    """The chain-rule loss of the (H, W) image x in bits per dimension: L(x) / (D ln 2), D = H·W."""
    ### BEGIN SOLUTION
    D = x.numel()                                        # D = H·W dimensions
    return chain_rule_nll(x, log_p_next) / (D * math.log(2))
    ### END SOLUTION


# %% coursekit={"id": "bits-public", "kind": "public-test", "points": 1}
bpd = bits_per_dim(example, log_p_next)
print(f"the 3×3 example: {bpd:.4f} bits/dim (uniform over 256 levels: {math.log2(LEVELS):.0f} bits/dim)")
check_close(bpd, 7.717271, atol=1e-4, name="bits/dim of the 3×3 example under the set-up's model")
print("Task 1 public test (bits/dim) passed")

# %% coursekit={"id": "bits-hidden", "kind": "hidden-test", "points": 1}
g = torch.Generator().manual_seed(402)
for shape in [(2, 5), (6, 2), (3, 3)]:
    x = torch.randint(0, 7, shape, generator=g)
    nats = reference_nll(x, mean_model)
    check_close(bits_per_dim(x, mean_model), nats / (x.numel() * math.log(2)), rtol=1e-9,
                name=f"bits/dim of a random {shape[0]}×{shape[1]} image (D = {x.numel()})")


# %% [markdown] coursekit={"id": "task-made", "kind": "locked"}
# ## Task 2 · MADE's masks from an ordering (2 + 3 points)
#
# MADE (lecture 04a) makes an MLP autoregressive by multiplying its weights with 0/1 masks. Each unit gets a **degree**:
# - an input $x_d$ gets its position in the ordering, $m^0(d) \in \{1, \dots, D\}$ (1 for the dimension visited first);
# - a hidden unit $k$ of layer $l$ gets $m^l(k) \in \{1, \dots, D-1\}$: it may depend on the inputs of degree $\le m^l(k)$ only.
#
# A hidden unit $k'$ of layer $l$ may take input from unit $k$ of layer $l-1$ when $m^l(k') \ge m^{l-1}(k)$; output $d$ (the logits of $p(x_d \mid \cdot)$) may take input from unit $k$ of the last hidden layer $L$ only when $m^0(d) > m^L(k)$, **strictly**:
# $$M^{l}[k', k] = \mathbb 1\big[m^{l}(k') \ge m^{l-1}(k)\big] \quad (\text{shape } H_l \times H_{l-1}), \qquad M^{V}[d, k] = \mathbb 1\big[m^0(d) > m^{L}(k)\big] \quad (\text{shape } D \times H_L).$$
# Each mask has the shape of the weight it multiplies, (out, in), as in `torch.nn.Linear`. Then a path from input $x_e$ to output $d$ exists only if $m^0(e) \le m^1 \le \dots \le m^L < m^0(d)$: output $d$ sees only the dimensions that come before it.
#
# The ordering comes as the visiting order, the convention of lecture 04's samplers: `order` is a permutation of $0, \dots, D-1$ and `order[t]` is the dimension visited at step $t$ (so `order = [2, 0, 3, 1]` visits $x_2$ first). Write
# - `input_degrees(order)`: the (D,) `torch.long` tensor of the degrees $m^0(d)$, 1-based;
# - `made_masks(order, hidden_degrees)`: `hidden_degrees` is a list of L ≥ 1 tensors, the degrees $m^1, \dots, m^L$ of the hidden layers; return the list $[M^1, \dots, M^L, M^V]$ of float 0/1 tensors.

# %% coursekit={"id": "degrees", "kind": "answer"}
def input_degrees(order):
    """m⁰(d), 1-based, of every input dimension d: its position in `order` (order[t] is the dimension visited at
    step t, t = 0..D−1), so m⁰(order[t]) = t + 1. Returns a (D,) torch.long tensor."""
    ### BEGIN SOLUTION
    D = len(order)
    degrees = torch.empty(D, dtype=torch.long)
    degrees[order.long()] = torch.arange(1, D + 1)   # m⁰(order[t]) = t + 1: the inverse permutation, plus one
    return degrees
    ### END SOLUTION


# %% coursekit={"id": "degrees-public", "kind": "public-test", "points": 1}
order = torch.tensor([2, 0, 3, 1])                  # x_2 first, then x_0, x_3 and x_1
m0 = input_degrees(order)
check_true(isinstance(m0, torch.Tensor) and m0.dtype == torch.long,
           f"input_degrees should return a torch.long tensor, got {type(m0).__name__} {getattr(m0, 'dtype', '')}")
check_shape(m0, (4,), name="input_degrees for D = 4")
check_true(m0.tolist() == [2, 4, 1, 3], f"order = [2, 0, 3, 1] visits x_2 first (degree 1), then x_0 (2), x_3 (3) "
           f"and x_1 (4): expected the degrees [2, 4, 1, 3], got {m0.tolist()}")
check_true(input_degrees(torch.arange(5)).tolist() == [1, 2, 3, 4, 5],
           f"raster order 0..4: expected the degrees [1, 2, 3, 4, 5], got {input_degrees(torch.arange(5)).tolist()}")
print("Task 2 public test (degrees) passed")


# %% coursekit={"id": "made-masks", "kind": "answer"}
def made_masks(order, hidden_degrees):
    """MADE's masks [M¹, …, M^L, M^V] (float 0/1, each (out, in)) for the ordering `order` (the visiting order)
    and the hidden layers' degrees [m¹ (H_1,), …, m^L (H_L,)]."""
    ### BEGIN SOLUTION
    degrees = [input_degrees(order), *hidden_degrees]                # m⁰ (D,), m¹ (H_1,), …, m^L (H_L,)
    masks = []
    for m_in, m_out in zip(degrees[:-1], degrees[1:]):
        masks.append((m_out[:, None] >= m_in[None, :]).float())       # M^l[k', k] = 1[m^l(k') ≥ m^{l−1}(k)]
    masks.append((degrees[0][:, None] > degrees[-1][None, :]).float())   # M^V[d, k] = 1[m⁰(d) > m^L(k)]
    return masks
    ### END SOLUTION


# %% coursekit={"id": "made-masks-public", "kind": "public-test", "points": 1}
hidden = [torch.tensor([1, 2, 3, 1, 2]), torch.tensor([2, 1, 3])]
masks = made_masks(order, hidden)
check_true(isinstance(masks, list) and len(masks) == 3, f"two hidden layers: expected a list of 3 masks [M¹, M², M^V], "
           f"got {type(masks).__name__} of length {len(masks) if hasattr(masks, '__len__') else '?'}")
for got, shape, name in zip(masks, [(5, 4), (3, 5), (4, 3)], ["M¹ (H_1, D)", "M² (H_2, H_1)", "M^V (D, H_2)"]):
    check_shape(got, shape, name=name)
    check_true(got.is_floating_point() and bool(((got == 0) | (got == 1)).all()),
               f"{name} should hold the floats 0 and 1, got dtype {got.dtype} with values {got.unique().tolist()}")
paths = masks[2] @ masks[1] @ masks[0]              # (D, D): the number of paths from input e to output d
position = {d: t for t, d in enumerate(order.tolist())}
for d in range(4):
    for e in range(4):
        if paths[d, e] > 0:
            check_true(position[e] < position[d], f"output {d} (step {position[d]} of the order) must not see input "
                       f"{e} (step {position[e]}), but {int(paths[d, e])} paths connect them")
check_true(bool(paths[order[0]].eq(0).all()), f"output {int(order[0])}, first in the order, must see no input at all")
print("Task 2 public test (masks) passed")

# %% coursekit={"id": "made-masks-hidden", "kind": "hidden-test", "points": 3}
def reference_masks(order, hidden):   # MADE's masks by loops, from the degrees written out
    D = len(order)
    m = [0] * D
    for t, d in enumerate(order.tolist()):
        m[d] = t + 1
    layers = [m, *[h.tolist() for h in hidden]]
    masks = [torch.tensor([[float(a >= b) for b in prev] for a in cur]) for prev, cur in zip(layers[:-1], layers[1:])]
    return masks + [torch.tensor([[float(a > b) for b in layers[-1]] for a in m])]


g = torch.Generator().manual_seed(403)
for D, widths in [(6, [9]), (7, [5, 8]), (5, [4, 3, 6]), (2, [3])]:
    order = torch.randperm(D, generator=g)
    hidden = [torch.randint(1, D, (h,), generator=g) for h in widths]
    got = made_masks(order, hidden)
    expected = reference_masks(order, hidden)
    check_true(len(got) == len(expected), f"{len(widths)} hidden layers: expected {len(expected)} masks, got {len(got)}")
    for l, (a, b) in enumerate(zip(got, expected)):
        check_true(a.shape == b.shape and torch.equal(a.float(), b),
                   f"mask {l + 1} of {len(expected)} for D = {D}, order {order.tolist()}, hidden degrees "
                   f"{[h.tolist() for h in hidden]}: expected\n{b.int()}\ngot\n{a.int() if a.shape == b.shape else a.shape}")
# wide layers whose degrees take every value 1..D−1: output d sees exactly the inputs before it in the order
D = 7
order = torch.randperm(D, generator=g)
spread = [1 + torch.arange(3 * (D - 1)) % (D - 1), 1 + torch.arange(2 * (D - 1)) % (D - 1)]
masks = made_masks(order, spread)
seen = (masks[2] @ masks[1] @ masks[0]) > 0                        # (D, D): output d, input e
step = torch.empty(D, dtype=torch.long)
step[order] = torch.arange(D)
check_true(torch.equal(seen, step[:, None] > step[None, :]),
           f"with every degree present, output d should see exactly the inputs before it in the order "
           f"{order.tolist()}: expected\n{(step[:, None] > step[None, :]).int()}\ngot\n{seen.int()}")


# %% [markdown] coursekit={"id": "task-pixelcnn", "kind": "locked"}
# ## Task 3 · PixelCNN's masks and what a stack of them sees (2 + 3 points)
#
# PixelCNN (lecture 04b) computes every conditional at once with convolutions whose $k \times k$ kernels are masked, so that the output at pixel $(i, j)$ depends on the pixels before it in raster order only. With the centre $c = \lfloor k/2 \rfloor$ (0-based row and column of the kernel), the mask keeps
# - every row above the centre (rows $0, \dots, c-1$, all columns);
# - in the centre row, the columns left of the centre ($0, \dots, c-1$);
# - the centre itself only in a **mask B**; a **mask A** leaves it out.
#
# The first layer must use mask A (its output at $(i, j)$ must not see $x_{ij}$); the layers after it use mask B (a feature at $(i, j)$ may use the features already computed there, which depend on the pixels before $(i, j)$ only).
#
# 1. Write `pixelcnn_mask(k, mask_type)`: the (k, k) float 0/1 mask for an odd `k` and `mask_type` "A" or "B"; raise a `ValueError` for an even or non-positive `k` or another `mask_type`.
# 2. Write `stack_receptive_field(H, W, i, j, first_kernel, kernel, layers)`: which pixels of an $H \times W$ input the output at $(i, j)$ can depend on, for a stack of one mask-A convolution of size `first_kernel` followed by `layers` mask-B convolutions of size `kernel` ("same" zero padding, stride 1). Return an (H, W) `torch.bool` tensor. Work it out from the masks, not from a network: a convolution's output at $p$ reads its input at $p + (a - c, b - c)$ wherever the mask has a 1 at $(a, b)$, so go back from $(i, j)$ through the layers, last layer first, and keep only positions inside the image (outside is zero padding). The result shows the **blind spot**: pixels before $(i, j)$, up and to the right, that no depth of the stack reaches.

# %% coursekit={"id": "pixelcnn-mask", "kind": "answer"}
def pixelcnn_mask(k, mask_type):
    """PixelCNN's (k, k) float 0/1 mask: the rows above the centre, the centre row left of the centre, and the
    centre itself for mask type "B" only."""
    ### BEGIN SOLUTION
    if not isinstance(k, int) or k < 1 or k % 2 == 0:
        raise ValueError(f"k must be an odd positive int (the mask needs a centre), got {k!r}")
    if mask_type not in ("A", "B"):
        raise ValueError(f"mask_type must be 'A' (centre hidden) or 'B' (centre seen), got {mask_type!r}")
    c = k // 2
    mask = torch.zeros(k, k)
    mask[:c, :] = 1              # every row above the centre
    mask[c, :c] = 1              # the centre row, left of the centre
    if mask_type == "B":
        mask[c, c] = 1           # mask B also sees the centre
    return mask
    ### END SOLUTION


# %% coursekit={"id": "pixelcnn-mask-public", "kind": "public-test", "points": 1}
for mask_type, expected in [("A", [[1, 1, 1], [1, 0, 0], [0, 0, 0]]), ("B", [[1, 1, 1], [1, 1, 0], [0, 0, 0]])]:
    got = pixelcnn_mask(3, mask_type)
    check_shape(got, (3, 3), name=f"the 3×3 mask {mask_type}")
    check_true(torch.equal(got.float(), torch.tensor(expected, dtype=torch.float32)),
               f"the 3×3 mask {mask_type}: expected {expected}, got {got.int().tolist()}")
print("Task 3 public test (masks) passed")

# %% coursekit={"id": "pixelcnn-mask-hidden", "kind": "hidden-test", "points": 1}
for k in (1, 5, 7):
    c = k // 2
    for mask_type in ("A", "B"):
        expected = torch.tensor([[float(a < c or (a == c and (b < c or (b == c and mask_type == "B"))))
                                  for b in range(k)] for a in range(k)])
        got = pixelcnn_mask(k, mask_type)
        check_true(got.shape == (k, k) and torch.equal(got.float(), expected),
                   f"the {k}×{k} mask {mask_type}: expected\n{expected.int()}\ngot\n{got.int() if got.shape == (k, k) else got.shape}")
for bad_k, bad_type, what in [(4, "A", "an even k"), (0, "B", "k = 0"), (3, "C", "mask type 'C'")]:
    try:
        pixelcnn_mask(bad_k, bad_type)
    except ValueError:
        continue
    except Exception as err:
        raise AssertionError(f"pixelcnn_mask must raise ValueError for {what}, got {type(err).__name__}: {err}") from err
    raise AssertionError(f"pixelcnn_mask must raise ValueError for {what}, but it returned")


# %% coursekit={"id": "receptive-field", "kind": "answer"}
def stack_receptive_field(H, W, i, j, first_kernel, kernel, layers):
    """(H, W) torch.bool: the input pixels that the output at (i, j) of a mask-A first_kernel × first_kernel
    convolution followed by `layers` mask-B kernel × kernel convolutions ("same" padding) can depend on."""
    ### BEGIN SOLUTION
    masks = [pixelcnn_mask(first_kernel, "A")] + [pixelcnn_mask(kernel, "B")] * layers   # first layer first
    seen = torch.zeros(1, 1, H, W)
    seen[0, 0, i, j] = 1                      # what the last layer's output depends on: itself
    for mask in reversed(masks):              # back through the layers, the last one first
        # the output at p reads p + (a − c, b − c) where mask[a, b] = 1: that is a cross-correlation of `seen`
        # with the mask flipped in both directions; padding c keeps positions inside the image only
        flipped = mask.flip(0, 1)[None, None]                               # (1, 1, k, k)
        seen = (torch.nn.functional.conv2d(seen, flipped, padding=mask.shape[0] // 2) > 0).float()
    return seen[0, 0].bool()                  # (1, 1, H, W) → (H, W)
    ### END SOLUTION


# %% coursekit={"id": "receptive-field-public", "kind": "public-test", "points": 1}
field = stack_receptive_field(8, 8, 4, 3, first_kernel=7, kernel=3, layers=4)
check_shape(field, (8, 8), name="the receptive field in an 8×8 image")
check_true(field.dtype == torch.bool, f"stack_receptive_field should return a torch.bool tensor, got {field.dtype}")
small = stack_receptive_field(8, 8, 4, 3, first_kernel=3, kernel=3, layers=3)
print("what the output at x = (4, 3) sees (1): a 7×7 mask A and four 3×3 mask B layers (left), a 3×3 mask A and "
      "three 3×3 mask B layers (right)")
for a in range(8):
    print(*["x" if (a, b) == (4, 3) else int(field[a, b]) for b in range(8)], "    ",
          *["x" if (a, b) == (4, 3) else int(small[a, b]) for b in range(8)])
later = field.flatten()[4 * 8 + 3:]
check_true(not bool(later.any()), f"the output at (4, 3) must see nothing at or after (4, 3) in raster order, but it sees "
           f"{[divmod(4 * 8 + 3 + int(t), 8) for t in torch.nonzero(later).flatten()]}")
check_true(bool(field[4, 2] and field[3, 3] and field[4, 0]), "the output at (4, 3) should see its left neighbour (4, 2), "
           f"the pixel above it (3, 3) and (4, 0); got {bool(field[4, 2])}, {bool(field[3, 3])} and {bool(field[4, 0])}")
print("Task 3 public test (receptive field) passed")

# %% coursekit={"id": "receptive-field-hidden", "kind": "hidden-test", "points": 2}
def reference_field(H, W, i, j, first_kernel, kernel, layers):
    """By autograd, through a stack of convolutions with the masks (written out here) as positive weights and no
    nonlinearity: ∂ output(i, j) / ∂ input(p) counts the paths from p to (i, j), > 0 exactly where p is seen."""
    def mask(k, mask_type):
        c = k // 2
        return torch.tensor([[float(a < c or (a == c and (b < c or (b == c and mask_type == "B")))) for b in range(k)]
                             for a in range(k)], dtype=torch.float64)
    x = torch.zeros(1, 1, H, W, dtype=torch.float64, requires_grad=True)
    h = x
    for k, mask_type in [(first_kernel, "A")] + [(kernel, "B")] * layers:
        h = torch.nn.functional.conv2d(h, mask(k, mask_type)[None, None], padding=k // 2)
    (grad,) = torch.autograd.grad(h[0, 0, i, j], x)
    return grad[0, 0] > 0


for H, W, first_kernel, kernel, layers in [(8, 8, 7, 3, 4), (7, 9, 3, 3, 0), (7, 9, 3, 3, 1), (6, 10, 5, 3, 3),
                                           (9, 6, 3, 5, 2), (5, 5, 3, 3, 6)]:
    for i, j in [(H // 2, W // 2), (H - 1, W - 1), (H - 1, 0), (1, W - 2), (0, 2)]:
        got = stack_receptive_field(H, W, i, j, first_kernel, kernel, layers)
        expected = reference_field(H, W, i, j, first_kernel, kernel, layers)
        check_true(got.shape == (H, W) and torch.equal(got.bool(), expected),
                   f"receptive field of ({i}, {j}) in a {H}×{W} image, a {first_kernel}×{first_kernel} mask A and "
                   f"{layers} {kernel}×{kernel} mask B layers: expected\n{expected.int()}\n"
                   f"got\n{got.int() if got.shape == (H, W) else tuple(got.shape)}")
# the blind spot: one row up and c + 1 columns right of (4, 3) is never seen, however deep; two rows up it is
for layers in (1, 3, 8):
    field = stack_receptive_field(8, 8, 4, 3, 3, 3, layers)
    check_true(not bool(field[3, 5]) and bool(field[2, 5]), f"3×3 masks, {layers} mask-B layers: (3, 5) should be in "
               f"the blind spot of (4, 3) and (2, 5) seen, got {bool(field[3, 5])} and {bool(field[2, 5])}")


# %% [markdown] coursekit={"id": "task-sampler", "kind": "locked"}
# ## Task 4 · Sampling one dimension at a time (2 + 3 points)
#
# Training is parallel: one pass of the network gives the logits $\ell_d$ of every conditional $p(x_d \mid x_{<d})$ from the true image. Sampling is not: $x_d$ must be drawn before anything after it can be computed. With the visiting order $o$ (as in Task 2: `order[t]` is the dimension drawn at step $t$), for $t = 0, \dots, D-1$:
# 1. run the network on the image drawn so far (the dimensions not yet drawn hold 0; an autoregressive network ignores them for $\ell_{o(t)}$) and take the logits $\ell_{o(t)} \in \mathbb R^K$ of the dimension $o(t)$;
# 2. draw $x_{o(t)}$ from $\mathrm{softmax}(\ell_{o(t)} / T)$ at temperature $T$.
#
# The draw uses the **Gumbel-max trick**, as `coursekit`'s `Autoregressive.sample` does: with Gumbel noise $g_{d,k} = -\log(-\log u_{d,k})$, $u \sim U(0, 1)$,
# $$x_d = \arg\max_k \big(\ell_{d,k} / T + g_{d,k}\big)$$
# is a draw from $\mathrm{softmax}(\ell_d / T)$. Here the noise is given, so the sampler is deterministic and can be checked; $T = 0$ means the argmax of $\ell_d$ itself (greedy decoding, no noise).
#
# Write `sample_in_order(logits_fn, order, gumbel, temperature=1.0)`: `logits_fn(x)` takes images as an (N, D) `torch.long` tensor and returns the logits of every dimension, (N, K, D); `gumbel` is the noise (N, D, K), `gumbel[n, d]` the noise for dimension d of sample n (its N is the number of samples, at $T = 0$ too). Return the samples, (N, D) `torch.long`. Call `logits_fn` once per step, D times in all (the hidden test counts the calls): that is the cost of sampling that lecture 04a times in its section 6.

# %% coursekit={"id": "sampler", "kind": "answer"}
def sample_in_order(logits_fn, order, gumbel, temperature=1.0):
    """N samples (N, D) long, drawn one dimension at a time in `order`: x_{o(t)} = argmax_k(ℓ_{o(t),k} / T + g_{o(t),k})
    with ℓ = logits_fn(x) (N, K, D) on the dimensions drawn so far; temperature 0 takes the argmax of ℓ."""
    ### BEGIN SOLUTION
    N, D, K = gumbel.shape
    x = torch.zeros(N, D, dtype=torch.long, device=gumbel.device)
    for t in range(D):
        d = int(order[t])                     # the dimension drawn at step t
        logits = logits_fn(x)                 # (N, K, D): one full pass on x_{o(<t)}, drawn so far
        ell = logits[:, :, d]                 # (N, K): ℓ_{o(t)}
        scores = ell / temperature + gumbel[:, d] if temperature > 0 else ell
        x[:, d] = scores.argmax(dim=1)
    return x
    ### END SOLUTION


# %% coursekit={"id": "sampler-public", "kind": "public-test", "points": 2}
def chain_logits(order, K):
    """An autoregressive model in `order`: the first dimension prefers the highest level (logits 0, 1, …, K − 1);
    each next one, strongly, the level after the previous dimension's, (x_{o(t−1)} + 1) mod K."""
    def logits_fn(x):
        N, D = x.shape
        out = torch.zeros(N, K, D)
        out[:, :, order[0]] = torch.arange(K, dtype=torch.float32)
        for t in range(1, D):
            out[:, :, order[t]] = 5.0 * torch.nn.functional.one_hot((x[:, order[t - 1]] + 1) % K, K)
        return out
    return logits_fn


order = torch.tensor([2, 0, 3, 1])
model = chain_logits(order, K=3)
noise = torch.zeros(2, 4, 3)
noise[1, 2] = torch.tensor([4.0, 0.0, 0.0])   # sample 1: the noise on x_2 makes level 0 win at T = 1 (4 + 0 > 0 + 2)
greedy = sample_in_order(model, order, noise, temperature=0)
check_true(isinstance(greedy, torch.Tensor) and greedy.dtype == torch.long,
           f"sample_in_order should return a torch.long tensor, got {type(greedy).__name__} {getattr(greedy, 'dtype', '')}")
check_shape(greedy, (2, 4), name="2 samples of D = 4 dimensions")
check_true(greedy.tolist() == [[0, 2, 2, 1]] * 2, "greedy (T = 0, the noise not used) in the order [2, 0, 3, 1]: "
           f"x_2 = 2, then x_0 = 0, x_3 = 1, x_1 = 2, i.e. [0, 2, 2, 1] for both samples; got {greedy.tolist()}")
drawn = sample_in_order(model, order, noise, temperature=1.0)
check_true(drawn.tolist() == [[0, 2, 2, 1], [1, 0, 0, 2]], "T = 1 with noise that moves sample 1's x_2 to level 0: "
           f"expected [[0, 2, 2, 1], [1, 0, 0, 2]] (the chain follows from the drawn x_2), got {drawn.tolist()}")
print("Task 4 public test passed")

# %% coursekit={"id": "sampler-hidden", "kind": "hidden-test", "points": 3}
def random_model(order, K, g):
    """A random autoregressive model in `order`: ℓ_d = b_d + Σ_{e before d} A[d, e, x_e], a float64 table."""
    D = len(order)
    step = torch.empty(D, dtype=torch.long)
    step[order] = torch.arange(D)
    before = (step[:, None] > step[None, :]).double()                       # (D, D): e comes before d
    A = 2.0 * torch.randn(D, D, K, K, generator=g, dtype=torch.float64)    # A[d, e, x_e] ∈ ℝ^K
    b = torch.randn(D, K, generator=g, dtype=torch.float64)

    def logits_fn(x):
        picked = A[:, torch.arange(D)[:, None], x.T]                        # (D, D, N, K): A[d, e, x_{n,e}]
        out = b[:, None, :] + (before[:, :, None, None] * picked).sum(1)    # (D, N, K)
        return out.permute(1, 2, 0)                                         # (N, K, D)
    return logits_fn


def reference_sampler(logits_fn, order, gumbel, T):
    N, D, K = gumbel.shape
    x = torch.zeros(N, D, dtype=torch.long)
    for d in order.tolist():
        ell = logits_fn(x)[:, :, d]
        x[:, d] = (ell / T + gumbel[:, d]).argmax(1) if T > 0 else ell.argmax(1)
    return x


def gumbel_noise(shape, g):
    return -torch.log(-torch.log(torch.rand(shape, generator=g, dtype=torch.float64).clamp_min(1e-300)))


g = torch.Generator().manual_seed(404)
for D, K in [(6, 4), (9, 3)]:
    order = torch.randperm(D, generator=g)
    logits_fn = random_model(order, K, g)
    calls = []
    counted = lambda x: (calls.append(1), logits_fn(x))[1]
    noise = gumbel_noise((50, D, K), g)
    for T in (0, 0.5, 1.0, 2.0):
        calls.clear()
        got = sample_in_order(counted, order, noise, temperature=T)
        check_true(len(calls) == D, f"one pass of the network per dimension: expected {D} calls, got {len(calls)}")
        expected = reference_sampler(logits_fn, order, noise, T)
        wrong = int((got != expected).any(1).sum())
        check_true(wrong == 0, f"D = {D}, K = {K}, order {order.tolist()}, temperature {T}: {wrong} of 50 samples differ "
                   f"from the sequential sampler's, e.g. expected {expected[(got != expected).any(1)][:1].tolist()}, "
                   f"got {got[(got != expected).any(1)][:1].tolist()}")
# the samples follow the model: over all 2^3 binary images of a D = 3 model, the frequencies of 40,000 draws at
# T = 1 match p(x) = Π_t softmax(ℓ_{o(t)})[x_{o(t)}], and at T = 2 the product of the tempered conditionals
order = torch.tensor([1, 2, 0])
logits_fn = random_model(order, 2, g)
images = torch.tensor([[(n >> b) & 1 for b in range(3)] for n in range(8)])                 # (8, 3)
for T in (1.0, 2.0):
    log_q = torch.log_softmax(logits_fn(images) / T, dim=1).gather(1, images[:, None, :]).squeeze(1).sum(1)   # (8,)
    draws = sample_in_order(logits_fn, order, gumbel_noise((40_000, 3, 2), g), temperature=T)
    frequency = torch.bincount(draws[:, 0] + 2 * draws[:, 1] + 4 * draws[:, 2], minlength=8).double() / 40_000
    check_close(frequency, log_q.exp(), atol=0.012, name=f"frequencies of the 8 images in 40,000 draws at T = {T} vs "
                f"the product of the model's conditionals softmax(ℓ/T)")


# %% [markdown] coursekit={"id": "outro", "kind": "locked"}
# ## Before you submit
#
# Run *Kernel → Restart Kernel and Run All Cells*: every public test should print "passed". Then submit this notebook as it is (do not rename it). Questions to think about (not graded): in Task 1, which conditional costs the most under the set-up's model? Lecture 04a's model, which looks only at the pixel before, pays 67.82 nats for the same image: where does the set-up's model save its 19.7 nats? In Task 2, what happens to the masks if a hidden unit gets the degree $D$, and why does MADE leave it out? In Task 3, why does a PixelCNN with a 3×3 mask B never see the pixel at $(i-1, j+2)$ however deep it is, and what did the gated PixelCNN change to see it? In Task 4, sampling at $T = 2$ draws each pixel from $\mathrm{softmax}(\ell_d/2)$: is the resulting image distribution $p(x)^{1/2}$, renormalised?
