;; sha256_preimage: knowledge of a SHA-256 preimage, bound to a request context.
;;
;; Cairn TEE-WASM program ABI v1 (see enclave/prover/backends/tee-wasm.ts):
;;   exports  memory, alloc(len i32) -> ptr i32, run(ptr i32, len i32) -> i64
;;   input    u32 little-endian byte length of the public inputs ‖ public inputs ‖ private inputs (the rest)
;;   output   run returns (len << 32) | ptr of the public values in memory; a trap means the inputs are invalid
;;
;; Public inputs: context (32 bytes, binds the proof to its request) ‖ digest (32 bytes).
;; Private inputs: the preimage (any length that fits memory).
;; Public values: context ‖ sha256(preimage). They equal the request's public inputs exactly when the private
;; preimage hashes to the requested digest; the prover backend proves nothing otherwise.
;;
;; Memory: 0 K[64], 256 initial hash, 288 H[8], 320 W[64], 576 output (64), 640 final-block scratch (128),
;; heap from 1024. Words are kept native (little-endian) in memory and converted at the byte boundaries.
;; Assembled by script/programs/build.mjs; the committed .wasm must match (--check).
(module
  (memory (export "memory") 1 256)

  (data (i32.const 0)
    "\98\2f\8a\42\91\44\37\71\cf\fb\c0\b5\a5\db\b5\e9"
    "\5b\c2\56\39\f1\11\f1\59\a4\82\3f\92\d5\5e\1c\ab"
    "\98\aa\07\d8\01\5b\83\12\be\85\31\24\c3\7d\0c\55"
    "\74\5d\be\72\fe\b1\de\80\a7\06\dc\9b\74\f1\9b\c1"
    "\c1\69\9b\e4\86\47\be\ef\c6\9d\c1\0f\cc\a1\0c\24"
    "\6f\2c\e9\2d\aa\84\74\4a\dc\a9\b0\5c\da\88\f9\76"
    "\52\51\3e\98\6d\c6\31\a8\c8\27\03\b0\c7\7f\59\bf"
    "\f3\0b\e0\c6\47\91\a7\d5\51\63\ca\06\67\29\29\14"
    "\85\0a\b7\27\38\21\1b\2e\fc\6d\2c\4d\13\0d\38\53"
    "\54\73\0a\65\bb\0a\6a\76\2e\c9\c2\81\85\2c\72\92"
    "\a1\e8\bf\a2\4b\66\1a\a8\70\8b\4b\c2\a3\51\6c\c7"
    "\19\e8\92\d1\24\06\99\d6\85\35\0e\f4\70\a0\6a\10"
    "\16\c1\a4\19\08\6c\37\1e\4c\77\48\27\b5\bc\b0\34"
    "\b3\0c\1c\39\4a\aa\d8\4e\4f\ca\9c\5b\f3\6f\2e\68"
    "\ee\82\8f\74\6f\63\a5\78\14\78\c8\84\08\02\c7\8c"
    "\fa\ff\be\90\eb\6c\50\a4\f7\a3\f9\be\f2\78\71\c6")
  (data (i32.const 256)
    "\67\e6\09\6a\85\ae\67\bb\72\f3\6e\3c\3a\f5\4f\a5\7f\52\0e\51\8c\68\05\9b\ab\d9\83\1f\19\cd\e0\5b")

  (global $heap (mut i32) (i32.const 1024))

  (func $alloc (export "alloc") (param $len i32) (result i32)
    (local $ptr i32) (local $end i32) (local $have i32)
    (local.set $ptr (global.get $heap))
    (local.set $end (i32.add (local.get $ptr) (local.get $len)))
    (if (i32.lt_u (local.get $end) (local.get $ptr)) (then unreachable))
    (local.set $have (i32.shl (memory.size) (i32.const 16)))
    (if (i32.gt_u (local.get $end) (local.get $have))
      (then
        (if (i32.eq
              (memory.grow (i32.shr_u (i32.add (i32.sub (local.get $end) (local.get $have)) (i32.const 65535))
                                      (i32.const 16)))
              (i32.const -1))
          (then unreachable))))
    (global.set $heap (i32.and (i32.add (local.get $end) (i32.const 7)) (i32.const -8)))
    (local.get $ptr))

  (func $load_be (param $p i32) (result i32)
    (i32.or
      (i32.or (i32.shl (i32.load8_u (local.get $p)) (i32.const 24))
              (i32.shl (i32.load8_u offset=1 (local.get $p)) (i32.const 16)))
      (i32.or (i32.shl (i32.load8_u offset=2 (local.get $p)) (i32.const 8))
              (i32.load8_u offset=3 (local.get $p)))))

  (func $store_be (param $p i32) (param $v i32)
    (i32.store8 (local.get $p) (i32.shr_u (local.get $v) (i32.const 24)))
    (i32.store8 offset=1 (local.get $p) (i32.shr_u (local.get $v) (i32.const 16)))
    (i32.store8 offset=2 (local.get $p) (i32.shr_u (local.get $v) (i32.const 8)))
    (i32.store8 offset=3 (local.get $p) (local.get $v)))

  ;; One SHA-256 compression of the 64-byte block at $block into H.
  (func $compress (param $block i32)
    (local $i i32) (local $x i32) (local $y i32) (local $t1 i32) (local $t2 i32)
    (local $a i32) (local $b i32) (local $c i32) (local $d i32)
    (local $e i32) (local $f i32) (local $g i32) (local $h i32)
    (local.set $i (i32.const 0))
    (loop $load
      (i32.store offset=320 (i32.shl (local.get $i) (i32.const 2))
        (call $load_be (i32.add (local.get $block) (i32.shl (local.get $i) (i32.const 2)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $load (i32.lt_u (local.get $i) (i32.const 16))))
    (loop $schedule
      ;; W[i] = sigma1(W[i-2]) + W[i-7] + sigma0(W[i-15]) + W[i-16]
      (local.set $x (i32.load offset=312 (i32.shl (local.get $i) (i32.const 2))))
      (local.set $y (i32.load offset=260 (i32.shl (local.get $i) (i32.const 2))))
      (i32.store offset=320 (i32.shl (local.get $i) (i32.const 2))
        (i32.add
          (i32.add
            (i32.xor (i32.xor (i32.rotr (local.get $x) (i32.const 17)) (i32.rotr (local.get $x) (i32.const 19)))
                     (i32.shr_u (local.get $x) (i32.const 10)))
            (i32.load offset=292 (i32.shl (local.get $i) (i32.const 2))))
          (i32.add
            (i32.xor (i32.xor (i32.rotr (local.get $y) (i32.const 7)) (i32.rotr (local.get $y) (i32.const 18)))
                     (i32.shr_u (local.get $y) (i32.const 3)))
            (i32.load offset=256 (i32.shl (local.get $i) (i32.const 2))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $schedule (i32.lt_u (local.get $i) (i32.const 64))))
    (local.set $a (i32.load (i32.const 288)))
    (local.set $b (i32.load (i32.const 292)))
    (local.set $c (i32.load (i32.const 296)))
    (local.set $d (i32.load (i32.const 300)))
    (local.set $e (i32.load (i32.const 304)))
    (local.set $f (i32.load (i32.const 308)))
    (local.set $g (i32.load (i32.const 312)))
    (local.set $h (i32.load (i32.const 316)))
    (local.set $i (i32.const 0))
    (loop $round
      ;; t1 = h + Sigma1(e) + Ch(e, f, g) + K[i] + W[i]
      (local.set $t1
        (i32.add
          (i32.add
            (i32.add (local.get $h)
              (i32.xor (i32.xor (i32.rotr (local.get $e) (i32.const 6)) (i32.rotr (local.get $e) (i32.const 11)))
                       (i32.rotr (local.get $e) (i32.const 25))))
            (i32.xor (i32.and (local.get $e) (local.get $f))
                     (i32.and (i32.xor (local.get $e) (i32.const -1)) (local.get $g))))
          (i32.add
            (i32.load (i32.shl (local.get $i) (i32.const 2)))
            (i32.load offset=320 (i32.shl (local.get $i) (i32.const 2))))))
      ;; t2 = Sigma0(a) + Maj(a, b, c)
      (local.set $t2
        (i32.add
          (i32.xor (i32.xor (i32.rotr (local.get $a) (i32.const 2)) (i32.rotr (local.get $a) (i32.const 13)))
                   (i32.rotr (local.get $a) (i32.const 22)))
          (i32.xor (i32.xor (i32.and (local.get $a) (local.get $b)) (i32.and (local.get $a) (local.get $c)))
                   (i32.and (local.get $b) (local.get $c)))))
      (local.set $h (local.get $g))
      (local.set $g (local.get $f))
      (local.set $f (local.get $e))
      (local.set $e (i32.add (local.get $d) (local.get $t1)))
      (local.set $d (local.get $c))
      (local.set $c (local.get $b))
      (local.set $b (local.get $a))
      (local.set $a (i32.add (local.get $t1) (local.get $t2)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $round (i32.lt_u (local.get $i) (i32.const 64))))
    (i32.store (i32.const 288) (i32.add (i32.load (i32.const 288)) (local.get $a)))
    (i32.store (i32.const 292) (i32.add (i32.load (i32.const 292)) (local.get $b)))
    (i32.store (i32.const 296) (i32.add (i32.load (i32.const 296)) (local.get $c)))
    (i32.store (i32.const 300) (i32.add (i32.load (i32.const 300)) (local.get $d)))
    (i32.store (i32.const 304) (i32.add (i32.load (i32.const 304)) (local.get $e)))
    (i32.store (i32.const 308) (i32.add (i32.load (i32.const 308)) (local.get $f)))
    (i32.store (i32.const 312) (i32.add (i32.load (i32.const 312)) (local.get $g)))
    (i32.store (i32.const 316) (i32.add (i32.load (i32.const 316)) (local.get $h))))

  ;; sha256 of $len bytes at $ptr, written big-endian to $out.
  (func $sha256 (param $ptr i32) (param $len i32) (param $out i32)
    (local $rest i32) (local $i i32) (local $blocks i32) (local $bits i64)
    (i64.store (i32.const 288) (i64.load (i32.const 256)))
    (i64.store (i32.const 296) (i64.load (i32.const 264)))
    (i64.store (i32.const 304) (i64.load (i32.const 272)))
    (i64.store (i32.const 312) (i64.load (i32.const 280)))
    (local.set $rest (local.get $len))
    (block $full
      (loop $next
        (br_if $full (i32.lt_u (local.get $rest) (i32.const 64)))
        (call $compress (local.get $ptr))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 64)))
        (local.set $rest (i32.sub (local.get $rest) (i32.const 64)))
        (br $next)))
    ;; Final one or two blocks: the tail, 0x80, zeros, the bit length as a big-endian u64.
    (local.set $i (i32.const 0))
    (loop $zero
      (i64.store offset=640 (local.get $i) (i64.const 0))
      (local.set $i (i32.add (local.get $i) (i32.const 8)))
      (br_if $zero (i32.lt_u (local.get $i) (i32.const 128))))
    (local.set $i (i32.const 0))
    (block $copied
      (loop $copy
        (br_if $copied (i32.ge_u (local.get $i) (local.get $rest)))
        (i32.store8 offset=640 (local.get $i) (i32.load8_u (i32.add (local.get $ptr) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $copy)))
    (i32.store8 offset=640 (local.get $rest) (i32.const 0x80))
    (local.set $blocks (select (i32.const 1) (i32.const 2) (i32.lt_u (local.get $rest) (i32.const 56))))
    (local.set $bits (i64.shl (i64.extend_i32_u (local.get $len)) (i64.const 3)))
    (call $store_be (i32.add (i32.const 632) (i32.shl (local.get $blocks) (i32.const 6)))
      (i32.wrap_i64 (i64.shr_u (local.get $bits) (i64.const 32))))
    (call $store_be (i32.add (i32.const 636) (i32.shl (local.get $blocks) (i32.const 6)))
      (i32.wrap_i64 (local.get $bits)))
    (call $compress (i32.const 640))
    (if (i32.eq (local.get $blocks) (i32.const 2)) (then (call $compress (i32.const 704))))
    (local.set $i (i32.const 0))
    (loop $emit
      (call $store_be (i32.add (local.get $out) (local.get $i)) (i32.load offset=288 (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br_if $emit (i32.lt_u (local.get $i) (i32.const 32)))))

  (func (export "run") (param $ptr i32) (param $len i32) (result i64)
    (local $public i32)
    (if (i32.lt_u (local.get $len) (i32.const 4)) (then unreachable))
    (local.set $public (i32.load (local.get $ptr)))
    (if (i32.ne (local.get $public) (i32.const 64)) (then unreachable))
    (if (i32.lt_u (local.get $len) (i32.const 68)) (then unreachable))
    ;; context
    (i64.store (i32.const 576) (i64.load offset=4 (local.get $ptr)))
    (i64.store (i32.const 584) (i64.load offset=12 (local.get $ptr)))
    (i64.store (i32.const 592) (i64.load offset=20 (local.get $ptr)))
    (i64.store (i32.const 600) (i64.load offset=28 (local.get $ptr)))
    (call $sha256 (i32.add (local.get $ptr) (i32.const 68)) (i32.sub (local.get $len) (i32.const 68))
      (i32.const 608))
    (i64.or (i64.shl (i64.const 64) (i64.const 32)) (i64.const 576))))
