"use strict";
// Turbo colour map (Mikhailov 2019), polynomial fit: t in [0, 1] -> [r, g, b] in 0..255.
function turbo(t) {
  const r = 34.61 + t * (1172.33 - t * (10793.56 - t * (33300.12 - t * (38394.49 - t * 14825.05))));
  const g = 23.31 + t * (557.33 + t * (1225.33 - t * (3574.96 - t * (1073.77 + t * 707.56))));
  const b = 27.2 + t * (3211.1 - t * (15327.97 - t * (27814.0 - t * (22569.18 - t * 6838.66))));
  const clamp = (x) => Math.max(0, Math.min(255, Math.round(x)));
  return [clamp(r), clamp(g), clamp(b)];
}
// Near (small depth) is warm, far is cold; outside the window grey, no measurement black.
function colourDepth(depth, width, height, centre, range) {
  const image = new ImageData(width, height);
  const lut = [];
  for (let i = 0; i < 256; i++) lut.push(turbo(1 - i / 255));
  const low = centre - range;
  for (let i = 0; i < depth.length; i++) {
    const d = depth[i];
    const o = 4 * i;
    if (d === 0) {
      image.data[o] = image.data[o + 1] = image.data[o + 2] = 0;
    } else {
      const t = (d - low) / (2 * range);
      if (t < 0 || t > 1) {
        const grey = t < 0 ? 110 : 55;
        image.data[o] = image.data[o + 1] = image.data[o + 2] = grey;
      } else {
        const c = lut[Math.round(t * 255)];
        image.data[o] = c[0]; image.data[o + 1] = c[1]; image.data[o + 2] = c[2];
      }
    }
    image.data[o + 3] = 255;
  }
  return image;
}
