package journal

import (
	"encoding/binary"
	"math/bits"
)

// The two hash functions journal files use for data objects (systemd
// src/libsystemd/sd-journal/journal-file.c, journal_file_hash_data):
// SipHash-2-4 keyed by the file id when the header has the KEYED_HASH flag
// (systemd >= 246), Jenkins' lookup3 hashlittle2 otherwise.

// siphash24 is SipHash-2-4 with a 16-byte key, the 64-bit output as a
// little-endian integer (systemd's siphash24()).
func siphash24(data []byte, key *[16]byte) uint64 {
	k0 := binary.LittleEndian.Uint64(key[0:])
	k1 := binary.LittleEndian.Uint64(key[8:])
	v0 := k0 ^ 0x736f6d6570736575
	v1 := k1 ^ 0x646f72616e646f6d
	v2 := k0 ^ 0x6c7967656e657261
	v3 := k1 ^ 0x7465646279746573
	round := func() {
		v0 += v1
		v1 = bits.RotateLeft64(v1, 13)
		v1 ^= v0
		v0 = bits.RotateLeft64(v0, 32)
		v2 += v3
		v3 = bits.RotateLeft64(v3, 16)
		v3 ^= v2
		v0 += v3
		v3 = bits.RotateLeft64(v3, 21)
		v3 ^= v0
		v2 += v1
		v1 = bits.RotateLeft64(v1, 17)
		v1 ^= v2
		v2 = bits.RotateLeft64(v2, 32)
	}
	n := len(data)
	for len(data) >= 8 {
		m := binary.LittleEndian.Uint64(data)
		v3 ^= m
		round()
		round()
		v0 ^= m
		data = data[8:]
	}
	b := uint64(n) << 56
	for i, c := range data {
		b |= uint64(c) << (8 * i)
	}
	v3 ^= b
	round()
	round()
	v0 ^= b
	v2 ^= 0xff
	round()
	round()
	round()
	round()
	return v0 ^ v1 ^ v2 ^ v3
}

// jenkinsHash64 is systemd's jenkins_hash64: lookup3's hashlittle2 with both
// seeds 0, the primary result in the high half.
func jenkinsHash64(data []byte) uint64 {
	c, b := hashlittle2(data, 0, 0)
	return uint64(c)<<32 | uint64(b)
}

// hashlittle2 is Bob Jenkins' lookup3.c hashlittle2 (public domain), the
// byte-at-a-time reading, which gives the same result as the C code's
// aligned paths on a little-endian machine.
func hashlittle2(k []byte, pc, pb uint32) (uint32, uint32) {
	rot := bits.RotateLeft32
	a := 0xdeadbeef + uint32(len(k)) + pc
	b, c := a, a+pb
	for len(k) > 12 {
		a += binary.LittleEndian.Uint32(k[0:])
		b += binary.LittleEndian.Uint32(k[4:])
		c += binary.LittleEndian.Uint32(k[8:])
		// mix
		a -= c
		a ^= rot(c, 4)
		c += b
		b -= a
		b ^= rot(a, 6)
		a += c
		c -= b
		c ^= rot(b, 8)
		b += a
		a -= c
		a ^= rot(c, 16)
		c += b
		b -= a
		b ^= rot(a, 19)
		a += c
		c -= b
		c ^= rot(b, 4)
		b += a
		k = k[12:]
	}
	if len(k) == 0 {
		return c, b
	}
	var tail [12]byte
	copy(tail[:], k)
	a += binary.LittleEndian.Uint32(tail[0:])
	b += binary.LittleEndian.Uint32(tail[4:])
	c += binary.LittleEndian.Uint32(tail[8:])
	// final
	c ^= b
	c -= rot(b, 14)
	a ^= c
	a -= rot(c, 11)
	b ^= a
	b -= rot(a, 25)
	c ^= b
	c -= rot(b, 16)
	a ^= c
	a -= rot(c, 4)
	b ^= a
	b -= rot(a, 14)
	c ^= b
	c -= rot(b, 24)
	return c, b
}
