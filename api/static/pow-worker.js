// The proof of work of a join, solved off the page's thread (queue_engine/proof.py says why and
// checks it): find a nonce such that SHA-256(challenge + ":" + nonce) starts with `difficulty`
// zero bits. SHA-256 is written out here rather than taken from crypto.subtle, whose promise per
// hash is several times slower and which is missing outside secure contexts.
// In:  {challenge: string (ASCII), difficulty: number}
// Out: {tried: number} now and then, then {nonce: string, tried: number}.
(function () {
  "use strict";

  var K = new Int32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
  ]);
  var INIT = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
              0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
  var W = new Int32Array(64);
  var H = new Int32Array(8);

  // One 64-byte block (big-endian words in `words`, at `offset`) into the state H.
  function compress(words, offset) {
    var i, s0, s1, t1, t2;
    for (i = 0; i < 16; i++) W[i] = words[offset + i];
    for (i = 16; i < 64; i++) {
      var x = W[i - 15], y = W[i - 2];
      s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      W[i] = (W[i - 16] + s0 + W[i - 7] + s1) | 0;
    }
    var a = H[0], b = H[1], c = H[2], d = H[3], e = H[4], f = H[5], g = H[6], h = H[7];
    for (i = 0; i < 64; i++) {
      s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      t1 = (h + s1 + ((e & f) ^ (~e & g)) + K[i] + W[i]) | 0;
      s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      h = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    H[0] = (H[0] + a) | 0; H[1] = (H[1] + b) | 0; H[2] = (H[2] + c) | 0; H[3] = (H[3] + d) | 0;
    H[4] = (H[4] + e) | 0; H[5] = (H[5] + f) | 0; H[6] = (H[6] + g) | 0; H[7] = (H[7] + h) | 0;
  }

  // Leading zero bits of the digest now in H (only as many as matter).
  function zeroBits() {
    for (var i = 0; i < 8; i++) {
      if (H[i] !== 0) return i * 32 + Math.clz32(H[i]);
    }
    return 256;
  }

  function solve(challenge, difficulty) {
    var prefix = challenge + ":";
    var bytes = new Uint8Array(prefix.length + 16 + 9 + 64);
    for (var i = 0; i < prefix.length; i++) bytes[i] = prefix.charCodeAt(i) & 0x7f;
    var words = new Int32Array(bytes.length >> 2);
    // The whole 64-byte blocks of the prefix never change: hash them once (the midstate).
    var fixed = prefix.length >> 6;
    for (i = 0; i < fixed * 16; i++) {
      var k = i << 2;
      words[i] = (bytes[k] << 24) | (bytes[k + 1] << 16) | (bytes[k + 2] << 8) | bytes[k + 3];
    }
    H.set(INIT);
    for (i = 0; i < fixed; i++) compress(words, i * 16);
    var midstate = new Int32Array(H);
    var nonce = 0;
    var lastReport = Date.now();
    for (;;) {
      var digits = String(nonce);
      var length = prefix.length + digits.length;
      for (i = 0; i < digits.length; i++) bytes[prefix.length + i] = digits.charCodeAt(i);
      // Padding: 0x80, zeros, then the length in bits in the last 8 bytes of the last block.
      var blocks = (length + 9 + 63) >> 6;
      bytes[length] = 0x80;
      for (i = length + 1; i < blocks * 64 - 4; i++) bytes[i] = 0;
      var bits = length * 8;
      bytes[blocks * 64 - 4] = bits >>> 24; bytes[blocks * 64 - 3] = (bits >>> 16) & 0xff;
      bytes[blocks * 64 - 2] = (bits >>> 8) & 0xff; bytes[blocks * 64 - 1] = bits & 0xff;
      for (i = fixed * 16; i < blocks * 16; i++) {
        var j = i << 2;
        words[i] = (bytes[j] << 24) | (bytes[j + 1] << 16) | (bytes[j + 2] << 8) | bytes[j + 3];
      }
      H.set(midstate);
      for (i = fixed; i < blocks; i++) compress(words, i * 16);
      if (zeroBits() >= difficulty) return { nonce: digits, tried: nonce + 1 };
      nonce++;
      if ((nonce & 0x3fff) === 0 && Date.now() - lastReport > 250) {
        lastReport = Date.now();
        self.postMessage({ tried: nonce });
      }
    }
  }

  self.onmessage = function (event) {
    var task = event.data || {};
    self.postMessage(solve(String(task.challenge), Number(task.difficulty) || 0));
  };
})();
