//! The product of a few token rows with a weight matrix, for reading one question: `x` (rows ×
//! k) times `w` (n × k, as the model stores it) transposed, plus a bias, and the GELU that
//! follows the middle product of each layer. candle's general product packs the weight matrix
//! into its own layout on every call, which for a question's dozen rows costs more than the
//! arithmetic; here each weight row is read once, in place, and multiplied with every token row
//! while it is in cache. candle's GELU calls the C library's `erff` for each value; here a
//! rational approximation runs on whole vectors.
//!
//! Invariants:
//! - The same values as candle's ops up to float rounding (the order of additions differs;
//!   the GELU within 1e-6): unit tests check both against plain loops and `erff`.
//! - Safe code only: `pulp` picks the widest instructions the CPU has at run time.
//! - Only for inference ([`super::encoder::Mode::Infer`]): these carry no gradients.

use candle_core::{DType, Storage, Tensor, D};
use candle_nn::{Linear, Module};
use pulp::{Arch, Simd, WithSimd};

/// Weight rows multiplied together in one block.
const ROWS: usize = 3;
/// Token rows multiplied together in one block.
const TOKENS: usize = 4;

/// Most rows (tokens of every text in the batch) multiplied here; above it candle's general
/// product, whose packing pays for itself, is faster (measured at 48 rows and up).
pub const SMALL_ROWS: usize = 32;

/// `layer` applied to `x` (…, k): [`product`] for at most [`SMALL_ROWS`] rows of F32 on the CPU,
/// with the weights read where they lie; otherwise candle's own product.
pub fn apply(layer: &Linear, x: &Tensor) -> candle_core::Result<Tensor> {
    apply_then(layer, x, false)
}

/// [`apply`], then the exact-form GELU (`gelu_erf`) on every value.
pub fn apply_gelu(layer: &Linear, x: &Tensor) -> candle_core::Result<Tensor> {
    apply_then(layer, x, true)
}

fn apply_then(layer: &Linear, x: &Tensor, then_gelu: bool) -> candle_core::Result<Tensor> {
    let general = || match then_gelu {
        true => layer.forward(x)?.gelu_erf(),
        false => layer.forward(x),
    };
    let k = x.dim(D::Minus1)?;
    let rows = x.elem_count() / k.max(1);
    let weight = layer.weight();
    if rows > SMALL_ROWS
        || k == 0
        || x.dtype() != DType::F32
        || weight.dtype() != DType::F32
        || weight.dims() != [weight.dim(0)?, k]
    {
        return general();
    }
    let n = weight.dim(0)?;
    let (w_storage, w_layout) = weight.storage_and_layout();
    let (Storage::Cpu(w_cpu), Some((w_start, w_end))) =
        (&*w_storage, w_layout.contiguous_offsets())
    else {
        return general();
    };
    let w = &w_cpu.as_slice::<f32>()?[w_start..w_end];
    let bias_guard = layer.bias().map(|b| b.storage_and_layout());
    let bias = match &bias_guard {
        Some((storage, layout)) => match (&**storage, layout.contiguous_offsets()) {
            (Storage::Cpu(cpu), Some((start, end))) if end - start == n => {
                Some(&cpu.as_slice::<f32>()?[start..end])
            }
            _ => return general(),
        },
        None => None,
    };
    let xs: Vec<f32> = x.flatten_all()?.to_vec1()?;
    let mut out = vec![0.0; rows * n];
    product(&xs, k, w, bias, &mut out);
    if then_gelu {
        gelu(&mut out);
    }
    let mut shape = x.dims().to_vec();
    if let Some(last) = shape.last_mut() {
        *last = n;
    }
    Tensor::from_vec(out, shape, x.device())
}

/// GELU in its exact form, x·(1 + erf(x/√2))/2, in place.
pub fn gelu(values: &mut [f32]) {
    Arch::new().dispatch(Gelu(values));
}

struct Gelu<'a>(&'a mut [f32]);

impl WithSimd for Gelu<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let (head, tail) = S::as_mut_simd_f32s(self.0);
        let half = simd.splat_f32s(0.5);
        let one = simd.splat_f32s(1.0);
        let scale = simd.splat_f32s(std::f32::consts::FRAC_1_SQRT_2);
        for v in head {
            let e = erf(simd, simd.mul_f32s(*v, scale));
            *v = simd.mul_f32s(simd.mul_f32s(*v, half), simd.add_f32s(e, one));
        }
        for v in tail {
            *v *= 0.5 * (1.0 + erf_scalar(*v * std::f32::consts::FRAC_1_SQRT_2));
        }
    }
}

/// erf as a ratio of two polynomials on [-4, 4] (outside it erf is ±1 in f32): Eigen's
/// `generic_fast_erf_float`, within about 1e-7 of the exact value.
const ERF_P: [f32; 7] = [
    -2.726_142_3e-10,
    2.770_681_4e-8,
    -2.101_024e-6,
    -5.692_506_4e-5,
    -7.349_906_3e-4,
    -2.954_6e-3,
    -1.609_603_3e-2,
];
const ERF_Q: [f32; 5] = [
    -1.456_607_2e-5,
    -2.133_740_6e-4,
    -1.682_827e-3,
    -7.373_329e-3,
    -1.426_474e-2,
];

#[inline(always)]
fn erf<S: Simd>(simd: S, x: S::f32s) -> S::f32s {
    let x = simd.min_f32s(
        simd.max_f32s(x, simd.splat_f32s(-4.0)),
        simd.splat_f32s(4.0),
    );
    let x2 = simd.mul_f32s(x, x);
    let mut p = simd.splat_f32s(ERF_P[0]);
    for c in &ERF_P[1..] {
        p = simd.mul_add_e_f32s(x2, p, simd.splat_f32s(*c));
    }
    let mut q = simd.splat_f32s(ERF_Q[0]);
    for c in &ERF_Q[1..] {
        q = simd.mul_add_e_f32s(x2, q, simd.splat_f32s(*c));
    }
    simd.div_f32s(simd.mul_f32s(x, p), q)
}

fn erf_scalar(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let p = ERF_P[1..].iter().fold(ERF_P[0], |p, c| x2.mul_add(p, *c));
    let q = ERF_Q[1..].iter().fold(ERF_Q[0], |q, c| x2.mul_add(q, *c));
    x * p / q
}

/// Products of at least this many multiply-adds are split over two threads (rayon's pool, which
/// candle's own products use too): below it, handing work over costs more than it saves.
const SPLIT_AT: usize = 1 << 20;

/// `out` (rows × n) = `x` (rows × k) · `w` (n × k)ᵀ + `bias` (n).
///
/// # Panics
/// When the lengths do not fit those shapes (a bug in the caller, never user input).
pub fn product(x: &[f32], k: usize, w: &[f32], bias: Option<&[f32]>, out: &mut [f32]) {
    assert!(k > 0 && x.len().is_multiple_of(k) && w.len().is_multiple_of(k));
    let rows = x.len() / k;
    let n = w.len() / k;
    assert_eq!(out.len(), rows * n);
    if let Some(b) = bias {
        assert_eq!(b.len(), n);
    }
    let half = n / 2 / ROWS * ROWS;
    if rows * k * n < SPLIT_AT || half == 0 {
        run(x, k, w, bias, out);
        return;
    }
    // Each half of the weight rows into an output of its own, then interleaved row by row.
    let (w1, w2) = w.split_at(half * k);
    let (b1, b2) = match bias {
        Some(b) => {
            let (p, q) = b.split_at(half);
            (Some(p), Some(q))
        }
        None => (None, None),
    };
    let mut o1 = vec![0.0; rows * half];
    let mut o2 = vec![0.0; rows * (n - half)];
    rayon::join(|| run(x, k, w1, b1, &mut o1), || run(x, k, w2, b2, &mut o2));
    for ((row, p), q) in out
        .chunks_exact_mut(n)
        .zip(o1.chunks_exact(half))
        .zip(o2.chunks_exact(n - half))
    {
        row[..half].copy_from_slice(p);
        row[half..].copy_from_slice(q);
    }
}

fn run(x: &[f32], k: usize, w: &[f32], bias: Option<&[f32]>, out: &mut [f32]) {
    Arch::new().dispatch(Product { x, k, w, bias, out });
}

struct Product<'a> {
    x: &'a [f32],
    k: usize,
    w: &'a [f32],
    bias: Option<&'a [f32]>,
    out: &'a mut [f32],
}

impl WithSimd for Product<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let Product { x, k, w, bias, out } = self;
        let rows = x.len() / k;
        let n = w.len() / k;
        let xs: Vec<&[f32]> = x.chunks_exact(k).collect();
        let ws: Vec<&[f32]> = w.chunks_exact(k).collect();
        let mut j = 0;
        while j < n {
            let r = ROWS.min(n - j);
            let mut t = 0;
            while t < rows {
                let tt = TOKENS.min(rows - t);
                if r == ROWS && tt == TOKENS {
                    let mut wr: [&[f32]; ROWS] = [&[]; ROWS];
                    wr.copy_from_slice(&ws[j..j + ROWS]);
                    let mut xr: [&[f32]; TOKENS] = [&[]; TOKENS];
                    xr.copy_from_slice(&xs[t..t + TOKENS]);
                    let sums = block::<S, ROWS, TOKENS>(simd, wr, xr);
                    for a in 0..ROWS {
                        let add = bias.map_or(0.0, |b| b[j + a]);
                        for b in 0..TOKENS {
                            out[(t + b) * n + j + a] = sums[a][b] + add;
                        }
                    }
                } else {
                    for a in 0..r {
                        let add = bias.map_or(0.0, |b| b[j + a]);
                        for b in 0..tt {
                            let s = block::<S, 1, 1>(simd, [ws[j + a]], [xs[t + b]])[0][0];
                            out[(t + b) * n + j + a] = s + add;
                        }
                    }
                }
                t += tt;
            }
            j += r;
        }
    }
}

/// Dot products of `R` weight rows with `T` token rows. Plain loops over fixed-size arrays
/// only: a closure (`array::map`, `from_fn`) may be compiled outside the SIMD context `pulp`
/// sets up, and each lane operation would then become a call.
#[inline(always)]
fn block<S: Simd, const R: usize, const T: usize>(
    simd: S,
    ws: [&[f32]; R],
    xs: [&[f32]; T],
) -> [[f32; T]; R] {
    let zero = simd.splat_f32s(0.0);
    let mut wv: [&[S::f32s]; R] = [&[]; R];
    let mut wt: [&[f32]; R] = [&[]; R];
    for a in 0..R {
        (wv[a], wt[a]) = S::as_simd_f32s(ws[a]);
    }
    let mut xv: [&[S::f32s]; T] = [&[]; T];
    let mut xt: [&[f32]; T] = [&[]; T];
    for b in 0..T {
        (xv[b], xt[b]) = S::as_simd_f32s(xs[b]);
    }
    let chunks = wv[0].len();
    // Every slice cut to the same length, so the loop below indexes without bounds checks.
    for w in wv.iter_mut() {
        *w = &w[..chunks];
    }
    for x in xv.iter_mut() {
        *x = &x[..chunks];
    }
    let mut acc = [[zero; T]; R];
    for c in 0..chunks {
        let mut wc = [zero; R];
        for a in 0..R {
            wc[a] = wv[a][c];
        }
        for b in 0..T {
            let xc = xv[b][c];
            for a in 0..R {
                acc[a][b] = simd.mul_add_e_f32s(wc[a], xc, acc[a][b]);
            }
        }
    }
    let mut sums = [[0.0f32; T]; R];
    for a in 0..R {
        for b in 0..T {
            let mut tail = 0.0;
            for i in 0..wt[a].len() {
                tail += wt[a][i] * xt[b][i];
            }
            sums[a][b] = simd.reduce_sum_f32s(acc[a][b]) + tail;
        }
    }
    sums
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(x: &[f32], k: usize, w: &[f32], bias: &[f32]) -> Vec<f32> {
        let n = w.len() / k;
        let mut out = Vec::new();
        for xr in x.chunks(k) {
            for (j, wr) in w.chunks(k).enumerate() {
                out.push(xr.iter().zip(wr).map(|(p, q)| p * q).sum::<f32>() + bias[j]);
            }
        }
        assert_eq!(out.len(), x.len() / k * n);
        out
    }

    #[test]
    fn gelu_is_within_a_millionth_of_the_exact_form() {
        // Every 1/1000 from -8 to 8, and an odd length so the scalar tail runs too.
        let xs: Vec<f32> = (-8000..=8000).map(|i| i as f32 / 1000.0).collect();
        let mut ys = xs.clone();
        gelu(&mut ys);
        for (x, y) in xs.iter().zip(&ys) {
            let exact = (candle_core::cpu::erf::erf_f64(f64::from(*x) / 2f64.sqrt()) + 1.0)
                * 0.5
                * f64::from(*x);
            assert!(
                (f64::from(*y) - exact).abs() < 1e-6,
                "gelu({x}) = {y}, exactly {exact}"
            );
        }
    }

    #[test]
    fn gives_the_plain_product_for_every_shape() {
        // Odd sizes reach every partial block and the scalar tail of each row; the last is
        // past `SPLIT_AT`, so its weight rows are split over two threads and interleaved back.
        for (rows, k, n) in [
            (1, 3, 1),
            (5, 19, 7),
            (12, 384, 10),
            (13, 40, 11),
            (4, 8, 3),
            (5, 1001, 211),
        ] {
            assert_eq!(rows * k * n >= SPLIT_AT, (rows, k, n) == (5, 1001, 211));
            let x: Vec<f32> = (0..rows * k)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) / 50.0)
                .collect();
            let w: Vec<f32> = (0..n * k)
                .map(|i| ((i * 53 % 97) as f32 - 48.0) / 48.0)
                .collect();
            let bias: Vec<f32> = (0..n).map(|i| i as f32 / 10.0).collect();
            let mut out = vec![0.0; rows * n];
            product(&x, k, &w, Some(&bias), &mut out);
            for (got, want) in out.iter().zip(plain(&x, k, &w, &bias)) {
                assert!(
                    (got - want).abs() < 1e-4 * (1.0 + want.abs()),
                    "{rows}×{k}×{n}: {got} vs {want}"
                );
            }
        }
    }
}
