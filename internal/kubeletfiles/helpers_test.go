package kubeletfiles

import b64 "encoding/base64"

func base64(s string) string { return b64.StdEncoding.EncodeToString([]byte(s)) }
