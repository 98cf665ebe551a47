"""What a clip is and how it is drawn and rendered, on any torch device.

- `config`: `VideoMNISTConfig`, the one frozen description of a dataset.
- `digits`: the digit bank (MNIST digits of one split as one uint8 tensor) and its sources.
- `keyed_random`: every random number of clip `i` as a pure function of (seed, split, i).
- `params`: each clip's digits, motion, trajectories, angle and scale drawn from keyed randomness.
- `motions`: the motion registry (bounce, linear, circular, spiral and user motions).
- `render`: the reference renderer, the definition of what a clip looks like.
- `render_fast`: the fast render kernels that match it (the torch backend).
- `render_triton`: the fused backend: one Triton launch per render, and backend selection.
- `triton_kernel`: the fused Triton kernel itself (imports ``triton``; loaded on first launch).
- `cpu_buffers`: reused CPU scratch and output memory for the render's hot path.
- `cpu_threads`: how many threads the render's torch operations use on a CPU (one by default).
- `ground_truth`: the one description of every ground-truth field (names, dtypes, shapes, meaning).
- `annotations`: masks, boxes, visibility and optical flow computed from each digit's own layer.
- `synthesizer`: `Synthesizer` and `Clips`, clip indices in, clips out.
- `pixels`: uint8 pixels to VideoGPT's float input in [-0.5, 0.5] and back.

May import: `videomnist_gpu.errors` and `videomnist_gpu.presets` (preset names). Everything else in the
package builds on this.
"""
