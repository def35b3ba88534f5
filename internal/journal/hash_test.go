package journal

import "testing"

func TestSiphash24ReferenceVector(t *testing.T) {
	// The SipHash paper's test vector: key 00..0f, message 00..0e.
	var key [16]byte
	for i := range key {
		key[i] = byte(i)
	}
	msg := make([]byte, 15)
	for i := range msg {
		msg[i] = byte(i)
	}
	if got, want := siphash24(msg, &key), uint64(0xa129ca6149be45e5); got != want {
		t.Fatalf("siphash24 = %#x, want %#x", got, want)
	}
}

func TestHashlittle2ReferenceVectors(t *testing.T) {
	// lookup3.c's driver5 self-test.
	tests := []struct {
		in     string
		pc, pb uint32
		c, b   uint32
	}{
		{"", 0, 0, 0xdeadbeef, 0xdeadbeef},
		{"", 0, 0xdeadbeef, 0xbd5b7dde, 0xdeadbeef},
		{"", 0xdeadbeef, 0xdeadbeef, 0x9c093ccd, 0xbd5b7dde},
		{"Four score and seven years ago", 0, 0, 0x17770551, 0xce7226e6},
		{"Four score and seven years ago", 0, 1, 0xe3607cae, 0xbd371de4},
		{"Four score and seven years ago", 1, 0, 0xcd628161, 0x6cbea4b3},
	}
	for _, tt := range tests {
		if c, b := hashlittle2([]byte(tt.in), tt.pc, tt.pb); c != tt.c || b != tt.b {
			t.Errorf("hashlittle2(%q, %#x, %#x) = %#x %#x, want %#x %#x", tt.in, tt.pc, tt.pb, c, b, tt.c, tt.b)
		}
	}
}
