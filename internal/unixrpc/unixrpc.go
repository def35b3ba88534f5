// Package unixrpc makes one unary gRPC call over HTTP/2 cleartext (prior
// knowledge) on a unix socket: the kubelet's pod-resources API is one such
// call. It exists because linking google.golang.org/grpc (and the protobuf
// runtime, x/net/trace and html/template it brings) into the product
// costs every short-lived plugin process ~2.5 ms of CPU at start, for one
// call of a few frames. It speaks the real protocol (RFC 9113 framing and
// flow control, the gRPC over HTTP/2 spec), and reports failures with
// gRPC's status codes so that callers judge them as they would a grpc-go
// client's.
package unixrpc

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/net/http2/hpack"
)

// Code is a gRPC status code (the numbers of grpc's codes package).
type Code uint32

// The gRPC status codes.
const (
	OK Code = iota
	Canceled
	Unknown
	InvalidArgument
	DeadlineExceeded
	NotFound
	AlreadyExists
	PermissionDenied
	ResourceExhausted
	FailedPrecondition
	Aborted
	OutOfRange
	Unimplemented
	Internal
	Unavailable
	DataLoss
	Unauthenticated
)

var codeNames = [...]string{"OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound",
	"AlreadyExists", "PermissionDenied", "ResourceExhausted", "FailedPrecondition", "Aborted", "OutOfRange",
	"Unimplemented", "Internal", "Unavailable", "DataLoss", "Unauthenticated"}

// String spells the code as grpc's codes.Code.String does: users read
// these names in findings.
func (c Code) String() string {
	if int(c) < len(codeNames) {
		return codeNames[c]
	}
	return "Code(" + strconv.FormatInt(int64(c), 10) + ")"
}

// Error is a call's failure: the server's status, or the code a grpc-go
// client gives the same transport failure.
type Error struct {
	Code    Code
	Message string
	// Cause is the underlying error (a dial or I/O error), if any.
	Cause error
}

func (e *Error) Error() string {
	return "rpc error: code = " + e.Code.String() + " desc = " + e.Message
}

// Unwrap lets callers tell a refused dial (syscall.ECONNREFUSED) apart.
func (e *Error) Unwrap() error { return e.Cause }

// CodeOf is the status code of a Call's error: OK for nil, the context's
// for a context error, Unknown for anything else.
func CodeOf(err error) Code {
	var e *Error
	switch {
	case err == nil:
		return OK
	case errors.As(err, &e):
		return e.Code
	case errors.Is(err, context.DeadlineExceeded):
		return DeadlineExceeded
	case errors.Is(err, context.Canceled):
		return Canceled
	}
	return Unknown
}

// MessageOf is the status message of a Call's error.
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	if err == nil {
		return ""
	}
	return err.Error()
}

const (
	// window is the flow-control window granted to the server, on the
	// stream and the connection, renewed as data is read: large enough
	// that a big answer needs few round trips, small enough that a
	// server cannot make us buffer much beyond what the limit allows.
	window = 1 << 20
	// maxHeaderList bounds the response headers and trailers (a long
	// grpc-message included).
	maxHeaderList = 1 << 20
	// prefix is the gRPC message prefix: a compressed flag and a
	// big-endian 32-bit length.
	prefix = 5
)

// Call makes the unary call method ("/package.Service/Method") with the
// encoded request message on the unix socket and returns the encoded
// response message, refusing one larger than maxMessage. The context's
// deadline bounds the dial, the writes and the reads; its cancellation
// closes the connection. The connection is closed when Call returns.
func Call(ctx context.Context, socket, method string, request []byte, maxMessage int) ([]byte, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		if ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, ctxError(ctx)
		}
		return nil, &Error{Code: Unavailable, Message: "connection error: " + err.Error(), Cause: err}
	}
	defer nc.Close()
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl)
	}
	// A cancellation without a deadline unblocks the reads by closing.
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()

	resp, err := exchange(&conn{r: nc, w: bufio.NewWriter(nc)}, method, timeoutHeader(ctx), request, maxMessage)
	if err != nil && (ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded) || canceledAtDeadline(ctx, err)) {
		return nil, ctxError(ctx) // the I/O error only says we gave up
	}
	return resp, err
}

// canceledAtDeadline: the server canceled the stream (RST_STREAM CANCEL)
// once our deadline, which it was told, had passed; grpc-go reads that
// as DeadlineExceeded too.
func canceledAtDeadline(ctx context.Context, err error) bool {
	dl, ok := ctx.Deadline()
	return ok && CodeOf(err) == Canceled && !time.Now().Before(dl)
}

// ctxError is the error of a call given up; the connection's deadline
// (the context's) can pass a moment before the context says so.
func ctxError(ctx context.Context) error {
	if ctx.Err() == nil || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &Error{Code: DeadlineExceeded, Message: "context deadline exceeded", Cause: ctx.Err()}
	}
	return &Error{Code: Canceled, Message: "context canceled", Cause: ctx.Err()}
}

// timeoutHeader is grpc-timeout, so that the server gives up when we do;
// rounded up, so that it does not give up first (its cancellation would
// race our deadline).
func timeoutHeader(ctx context.Context) string {
	dl, ok := ctx.Deadline()
	if !ok {
		return ""
	}
	ms := (time.Until(dl) + time.Millisecond - 1).Milliseconds() + 1
	if ms < 1 {
		ms = 1
	}
	if ms > 99999999 { // the spec allows 8 digits
		return "99999999m"
	}
	return strconv.FormatInt(ms, 10) + "m"
}

// HTTP/2 frame types, flags, settings and error codes (RFC 9113) this
// client uses. It frames by hand, a dozen lines: golang.org/x/net/http2's
// Framer would link that whole package (130 KB of binary and its init)
// for them.
const (
	frameData         = 0x0
	frameHeaders      = 0x1
	frameRSTStream    = 0x3
	frameSettings     = 0x4
	framePushPromise  = 0x5
	framePing         = 0x6
	frameGoAway       = 0x7
	frameWindowUpdate = 0x8
	frameContinuation = 0x9

	flagEndStream  = 0x1
	flagAck        = 0x1
	flagEndHeaders = 0x4
	flagPadded     = 0x8
	flagPriority   = 0x20

	settingEnablePush        = 0x2
	settingInitialWindowSize = 0x4
	settingMaxHeaderListSize = 0x6

	// maxFrame is SETTINGS_MAX_FRAME_SIZE, left at its default: a
	// longer frame is a connection error (and what a non-HTTP/2 peer's
	// first bytes read as).
	maxFrame = 16384
	// preface is the client connection preface.
	preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
)

var errCodeNames = [...]string{"NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR",
	"SETTINGS_TIMEOUT", "STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM", "CANCEL", "COMPRESSION_ERROR",
	"CONNECT_ERROR", "ENHANCE_YOUR_CALM", "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED"}

func errCodeName(c uint32) string {
	if int(c) < len(errCodeNames) {
		return errCodeNames[c]
	}
	return fmt.Sprintf("unknown error code 0x%x", c)
}

// frame is one frame read; payload is valid until the next read.
type frame struct {
	typ, flags byte
	stream     uint32
	payload    []byte
}

// conn frames over the connection; w buffers what is written until flush.
type conn struct {
	r   io.Reader
	w   *bufio.Writer
	buf [9 + maxFrame]byte
}

func (c *conn) write(typ, flags byte, stream uint32, payload []byte) {
	var h [9]byte
	h[0], h[1], h[2] = byte(len(payload)>>16), byte(len(payload)>>8), byte(len(payload))
	h[3], h[4] = typ, flags
	binary.BigEndian.PutUint32(h[5:], stream&0x7fffffff)
	c.w.Write(h[:]) // an error stays in the bufio.Writer; the reads tell what happened
	c.w.Write(payload)
}

func (c *conn) read() (frame, error) {
	h := c.buf[:9]
	if _, err := io.ReadFull(c.r, h); err != nil {
		return frame{}, err
	}
	n := int(h[0])<<16 | int(h[1])<<8 | int(h[2])
	if n > maxFrame {
		return frame{}, fmt.Errorf("frame of %d bytes, over the maximum frame size %d", n, maxFrame)
	}
	p := c.buf[9 : 9+n]
	if _, err := io.ReadFull(c.r, p); err != nil {
		return frame{}, err
	}
	return frame{typ: h[3], flags: h[4], stream: binary.BigEndian.Uint32(h[5:9]) & 0x7fffffff, payload: p}, nil
}

func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// exchange writes the client preface and the request on stream 1, then
// reads the response (readResponse).
func exchange(c *conn, method, timeout string, request []byte, maxMessage int) ([]byte, error) {
	c.w.WriteString(preface)
	var settings []byte
	for _, s := range [][2]uint32{{settingEnablePush, 0}, {settingInitialWindowSize, window}, {settingMaxHeaderListSize, maxHeaderList}} {
		settings = append(binary.BigEndian.AppendUint16(settings, uint16(s[0])), u32(s[1])...)
	}
	c.write(frameSettings, 0, 0, settings)
	c.write(frameWindowUpdate, 0, 0, u32(window-65535)) // the connection's window starts at 65535
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, f := range [][2]string{{":method", "POST"}, {":scheme", "http"}, {":path", method},
		{":authority", "localhost"}, {"content-type", "application/grpc"}, {"user-agent", "kubelet-doctor"},
		{"te", "trailers"}, {"grpc-timeout", timeout}} {
		if f[1] != "" {
			enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
		}
	}
	if hb.Len() > maxFrame || len(request)+prefix > maxFrame {
		return nil, &Error{Code: Internal, Message: "request too large for one frame"} // not so for this client's calls
	}
	c.write(frameHeaders, flagEndHeaders, 1, hb.Bytes())
	msg := make([]byte, prefix, prefix+len(request))
	binary.BigEndian.PutUint32(msg[1:], uint32(len(request)))
	c.write(frameData, flagEndStream, 1, append(msg, request...))
	// A server that closed at once has sent what explains it (garbage,
	// GOAWAY) or nothing: the reads tell, not the failed write.
	c.w.Flush()
	return readResponse(c, maxMessage)
}

// response is what stream 1 has brought so far.
type response struct {
	c        *conn
	dec      *hpack.Decoder
	fields   []hpack.HeaderField // the header block being decoded
	listSize int                 // its decoded size (RFC 9113's)
	block    []byte              // a header block awaiting CONTINUATION
	blockEnd bool                // that block's HEADERS ended the stream
	headers  bool                // the response headers arrived
	body     []byte              // the DATA received: prefixed messages
	avail    int                 // flow-control window the server may still use
	unacked  int                 // consumed, not yet returned by WINDOW_UPDATE
	goAway   string              // a GOAWAY received, named in a later failure
	settings bool                // the server's preface (SETTINGS) arrived
}

// readResponse reads frames until stream 1 ends, answering the server's
// SETTINGS and PING and granting window as data is read. Everything it
// reads comes from the server, so every malformation is an error, never a
// panic, and every loop ends with the input.
func readResponse(c *conn, maxMessage int) ([]byte, error) {
	r := &response{c: c, avail: window}
	r.dec = hpack.NewDecoder(4096, func(f hpack.HeaderField) {
		// Indexed fields expand: bound what a block decodes to.
		if r.listSize += int(f.Size()); r.listSize > maxHeaderList {
			r.dec.SetEmitEnabled(false)
			return
		}
		r.fields = append(r.fields, f)
	})
	r.dec.SetMaxStringLength(maxHeaderList)
	for {
		f, err := c.read()
		if err != nil {
			return nil, r.readError(err)
		}
		if !r.settings {
			if f.typ != frameSettings || f.flags&flagAck != 0 {
				return nil, &Error{Code: Unavailable, Message: fmt.Sprintf("connection error: the server's first frame (type %d) is not SETTINGS: not an HTTP/2 server", f.typ)}
			}
			r.settings = true
		}
		done, msg, err := r.frame(f, maxMessage)
		if err != nil || done {
			return msg, err
		}
		// Acknowledgements and window updates. A server that closed
		// may have sent what explains it (GOAWAY) or even the whole
		// answer: the reads tell, so a failed write is not the error.
		c.w.Flush()
	}
}

func (r *response) readError(err error) error {
	what := "read"
	if !r.settings {
		what = "read the server's preface (not an HTTP/2 server?)"
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
		err = fmt.Errorf("the server closed the connection before the response ended (%w)", err)
	}
	msg := "connection error: " + what + ": " + err.Error()
	if r.goAway != "" {
		msg += " (after " + r.goAway + ")"
	}
	return &Error{Code: Unavailable, Message: msg, Cause: err}
}

func protocolError(format string, a ...any) error {
	return &Error{Code: Internal, Message: "protocol error: " + fmt.Sprintf(format, a...)}
}

// frame handles one frame; done says stream 1 has ended, with msg the
// response message when the status is OK.
func (r *response) frame(f frame, maxMessage int) (done bool, msg []byte, err error) {
	if r.block != nil && f.typ != frameContinuation {
		return true, nil, protocolError("frame of type %d inside a header block", f.typ)
	}
	switch f.typ {
	case frameSettings:
		if f.stream != 0 || len(f.payload)%6 != 0 {
			return true, nil, protocolError("malformed SETTINGS")
		}
		if f.flags&flagAck == 0 {
			r.c.write(frameSettings, flagAck, 0, nil)
		}
	case framePing:
		if f.stream != 0 || len(f.payload) != 8 {
			return true, nil, protocolError("malformed PING")
		}
		if f.flags&flagAck == 0 {
			r.c.write(framePing, flagAck, 0, f.payload)
		}
	case frameGoAway:
		if len(f.payload) < 8 {
			return true, nil, protocolError("malformed GOAWAY")
		}
		last := binary.BigEndian.Uint32(f.payload) & 0x7fffffff
		r.goAway = fmt.Sprintf("GOAWAY %s %q", errCodeName(binary.BigEndian.Uint32(f.payload[4:])), f.payload[8:])
		if last < 1 { // our stream was not and will not be processed
			return true, nil, &Error{Code: Unavailable, Message: "the server sent " + r.goAway + " before our call"}
		}
	case frameRSTStream:
		if f.stream == 1 && len(f.payload) == 4 {
			c := binary.BigEndian.Uint32(f.payload)
			return true, nil, &Error{Code: rstCode(c), Message: "stream terminated by RST_STREAM with error code: " + errCodeName(c)}
		}
	case framePushPromise:
		return true, nil, protocolError("PUSH_PROMISE, which was disabled")
	case frameHeaders, frameContinuation:
		if f.stream == 1 {
			return r.headerBlock(f)
		}
	case frameData:
		if f.stream == 1 {
			return r.data(f, maxMessage)
		}
	}
	return false, nil, nil // WINDOW_UPDATE, PRIORITY, unknown types, other streams: nothing for us
}

// unpad strips a padded frame's padding (and a HEADERS' priority fields).
func unpad(f frame) ([]byte, error) {
	p := f.payload
	pad := 0
	if f.flags&flagPadded != 0 {
		if len(p) < 1 {
			return nil, protocolError("padded frame without a pad length")
		}
		pad, p = int(p[0]), p[1:]
	}
	if f.typ == frameHeaders && f.flags&flagPriority != 0 {
		if len(p) < 5 {
			return nil, protocolError("HEADERS too short for its priority")
		}
		p = p[5:]
	}
	if pad > len(p) {
		return nil, protocolError("padding longer than the frame")
	}
	return p[:len(p)-pad], nil
}

// headerBlock gathers HEADERS and its CONTINUATIONs, then decodes them.
func (r *response) headerBlock(f frame) (bool, []byte, error) {
	if f.typ == frameContinuation && r.block == nil {
		return true, nil, protocolError("CONTINUATION without HEADERS")
	}
	var p []byte
	if f.typ == frameHeaders {
		var err error
		if p, err = unpad(f); err != nil {
			return true, nil, err
		}
		r.block, r.blockEnd = []byte{}, f.flags&flagEndStream != 0
	} else {
		p = f.payload
	}
	if len(r.block)+len(p) > maxHeaderList {
		return true, nil, protocolError("header block over %d bytes", maxHeaderList)
	}
	r.block = append(r.block, p...)
	if f.flags&flagEndHeaders == 0 {
		return false, nil, nil
	}
	block := r.block
	r.block, r.fields, r.listSize = nil, nil, 0
	if _, err := r.dec.Write(block); err != nil {
		return true, nil, protocolError("decode headers: %v", err)
	}
	if err := r.dec.Close(); err != nil {
		return true, nil, protocolError("decode headers: %v", err)
	}
	if r.listSize > maxHeaderList {
		return true, nil, protocolError("header list over %d bytes", maxHeaderList)
	}
	return r.headersFrame(r.fields, r.blockEnd)
}

// data takes a DATA frame of stream 1 and returns window to the server.
func (r *response) data(f frame, maxMessage int) (bool, []byte, error) {
	if !r.headers {
		return true, nil, protocolError("DATA before the response headers")
	}
	n := len(f.payload) // padding counts against the window too
	if n > r.avail {
		return true, nil, protocolError("the server sent %d bytes over a window of %d", n, r.avail)
	}
	r.avail -= n
	p, err := unpad(f)
	if err != nil {
		return true, nil, err
	}
	r.body = append(r.body, p...)
	if err := checkBody(r.body, maxMessage); err != nil {
		return true, nil, err
	}
	if f.flags&flagEndStream != 0 {
		return true, nil, &Error{Code: Internal, Message: "server closed the stream without sending trailers"}
	}
	if r.unacked += n; r.unacked >= window/2 {
		r.c.write(frameWindowUpdate, 0, 0, u32(uint32(r.unacked)))
		r.c.write(frameWindowUpdate, 0, 1, u32(uint32(r.unacked)))
		r.avail += r.unacked
		r.unacked = 0
	}
	return false, nil, nil
}

// checkBody refuses what cannot become one acceptable message as soon as
// its prefix is read, before buffering it.
func checkBody(b []byte, maxMessage int) error {
	if len(b) < prefix {
		return nil
	}
	switch b[0] {
	case 0:
	case 1:
		return &Error{Code: Internal, Message: "grpc: the server compressed the response, which was not asked for"}
	default:
		return &Error{Code: Internal, Message: fmt.Sprintf("grpc: received unexpected payload format %d", b[0])}
	}
	n := binary.BigEndian.Uint32(b[1:prefix])
	if uint64(n) > uint64(maxMessage) {
		return &Error{Code: ResourceExhausted, Message: fmt.Sprintf("grpc: received message larger than max (%d vs. %d)", n, maxMessage)}
	}
	if len(b) > prefix+int(n) {
		return &Error{Code: Internal, Message: "grpc: more than one response message to a unary call"}
	}
	return nil
}

// headersFrame takes the response headers, then the trailers.
func (r *response) headersFrame(f []hpack.HeaderField, endStream bool) (bool, []byte, error) {
	if r.headers { // trailers
		if !endStream {
			return true, nil, &Error{Code: Internal, Message: "protocol error: headers after the response data that do not end the stream"}
		}
		msg, err := r.finish(f)
		return true, msg, err
	}
	if st := field(f, ":status"); len(st) == 3 && st[0] == '1' {
		if endStream {
			return true, nil, protocolError("informational status %s ends the stream", st)
		}
		return false, nil, nil // 100 Continue and the like: the answer follows
	}
	r.headers = true
	code, isGRPC := httpStatus(f)
	if code != OK && field(f, "grpc-status") == "" {
		// Not a gRPC answer: the HTTP status says what went wrong.
		msg := "unexpected HTTP status code received from server: " + field(f, ":status")
		if s, err := strconv.Atoi(field(f, ":status")); err == nil && http.StatusText(s) != "" {
			msg += " (" + http.StatusText(s) + ")"
		}
		if !isGRPC {
			msg += fmt.Sprintf("; transport: received unexpected content-type %q", field(f, "content-type"))
		}
		return true, nil, &Error{Code: code, Message: msg}
	}
	if endStream { // Trailers-Only
		msg, err := r.finish(f)
		return true, msg, err
	}
	return false, nil, nil
}

// httpStatus maps a response's :status to a code (OK for 200, the table of
// grpc's doc/http-grpc-status-mapping.md otherwise) and says whether its
// content-type is gRPC's. A 200 that is not gRPC is Unknown, as in grpc-go.
func httpStatus(f []hpack.HeaderField) (Code, bool) {
	ct := field(f, "content-type")
	isGRPC := ct == "application/grpc" || strings.HasPrefix(ct, "application/grpc+") || strings.HasPrefix(ct, "application/grpc;")
	switch field(f, ":status") {
	case "200":
		if !isGRPC {
			return Unknown, false
		}
		return OK, true
	case "400":
		return Internal, isGRPC
	case "401":
		return Unauthenticated, isGRPC
	case "403":
		return PermissionDenied, isGRPC
	case "404":
		return Unimplemented, isGRPC
	case "429", "502", "503", "504":
		return Unavailable, isGRPC
	case "":
		return Internal, isGRPC // no :status at all
	}
	return Unknown, isGRPC
}

// finish reads the status from the trailers (or a Trailers-Only response)
// and, when it is OK, returns the one response message.
func (r *response) finish(f []hpack.HeaderField) ([]byte, error) {
	s := field(f, "grpc-status")
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil { // grpc-go's code for it
		return nil, &Error{Code: Unknown, Message: fmt.Sprintf("transport: missing or malformed grpc-status %q", s)}
	}
	if Code(n) != OK {
		return nil, &Error{Code: Code(n), Message: DecodeMessage(field(f, "grpc-message"))}
	}
	if len(r.body) < prefix || len(r.body) != prefix+int(binary.BigEndian.Uint32(r.body[1:prefix])) {
		return nil, &Error{Code: Internal, Message: fmt.Sprintf("grpc: status OK without one whole response message (%d bytes)", len(r.body))}
	}
	return r.body[prefix:], nil
}

// field is a header's value (the first, as grpc-go reads them).
func field(f []hpack.HeaderField, name string) string {
	for _, hf := range f {
		if hf.Name == name {
			return hf.Value
		}
	}
	return ""
}

// rstCode is the code grpc-go gives a stream reset by the server.
func rstCode(c uint32) Code {
	switch c {
	case 0x7: // REFUSED_STREAM
		return Unavailable
	case 0x8: // CANCEL
		return Canceled
	case 0xb: // ENHANCE_YOUR_CALM
		return ResourceExhausted
	case 0xc: // INADEQUATE_SECURITY
		return PermissionDenied
	}
	return Internal
}

// DecodeMessage undoes grpc-message's percent-encoding (the gRPC over
// HTTP/2 spec: %XX is a byte, anything else is itself).
func DecodeMessage(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b = append(b, byte(v))
				i += 2
				continue
			}
		}
		b = append(b, s[i])
	}
	return string(b)
}
