package unixrpc

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	podresourcesv1 "k8s.io/kubelet/pkg/apis/podresources/v1"
)

const method = "/v1.PodResourcesLister/List"

// lister is the kubelet's side: the generated server of k8s.io/kubelet's
// podresources v1, answering List with pods pods (names of nameLen bytes),
// an error, or nothing until the call is given up.
type lister struct {
	podresourcesv1.UnimplementedPodResourcesListerServer
	pods, nameLen int
	err           error
	hang          bool
}

func (l *lister) List(ctx context.Context, _ *podresourcesv1.ListPodResourcesRequest) (*podresourcesv1.ListPodResourcesResponse, error) {
	if l.hang {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if l.err != nil {
		return nil, l.err
	}
	return l.response(), nil
}

func (l *lister) response() *podresourcesv1.ListPodResourcesResponse {
	resp := &podresourcesv1.ListPodResourcesResponse{}
	for i := 0; i < l.pods; i++ {
		name := strings.Repeat(string(rune('a'+i%26)), max(l.nameLen, 1))
		resp.PodResources = append(resp.PodResources, &podresourcesv1.PodResources{Name: name, Namespace: "ml",
			Containers: []*podresourcesv1.ContainerResources{{Name: "train",
				Devices: []*podresourcesv1.ContainerDevices{{ResourceName: "nvidia.com/gpu", DeviceIds: []string{"GPU-0"}}}}}})
	}
	return resp
}

// socket is a path short enough for a unix socket address.
func socket(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "ur")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "kubelet.sock")
}

// tracked is a listener whose accepted connections can be waited on
// until the client has closed them: Call leaves nothing behind.
type tracked struct {
	net.Listener
	mu    sync.Mutex
	conns []*trackedConn
}

type trackedConn struct {
	net.Conn
	closed chan struct{}
	once   sync.Once
}

func (c *trackedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil {
		c.once.Do(func() { close(c.closed) })
	}
	return n, err
}

// Close: the server ended it (a raw server's script).
func (c *trackedConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

func (l *tracked) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, closed: make(chan struct{})}
	l.mu.Lock()
	l.conns = append(l.conns, tc)
	l.mu.Unlock()
	return tc, nil
}

// closedByClient fails unless every accepted connection reads its end.
func (l *tracked) closedByClient(t *testing.T) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, c := range l.conns {
		select {
		case <-c.closed:
		case <-time.After(10 * time.Second):
			t.Errorf("connection %d still open after the call returned", i)
		}
	}
}

func listen(t *testing.T, path string) *tracked {
	t.Helper()
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return &tracked{Listener: l}
}

// serveGRPC runs the real gRPC server with the pod-resources service.
func serveGRPC(t *testing.T, path string, s *lister) *tracked {
	l := listen(t, path)
	g := grpc.NewServer()
	podresourcesv1.RegisterPodResourcesListerServer(g, s)
	go g.Serve(l)
	t.Cleanup(g.Stop)
	return l
}

// serveEach runs handle on every connection (raw servers).
func serveEach(t *testing.T, path string, handle func(net.Conn)) *tracked {
	l := listen(t, path)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
	return l
}

// grpcGo makes the same call with grpc-go, the client this package
// replaces: both must see the same code.
func grpcGo(ctx context.Context, path string, maxMessage int) (int, error) {
	conn, err := grpc.NewClient("unix://"+path, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessage)))
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	resp, err := podresourcesv1.NewPodResourcesListerClient(conn).List(ctx, &podresourcesv1.ListPodResourcesRequest{})
	return len(resp.GetPodResources()), err
}

func call(path string, timeout time.Duration, maxMessage int) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	b, err := Call(ctx, path, method, nil, maxMessage)
	if err != nil {
		return 0, err
	}
	var resp podresourcesv1.ListPodResourcesResponse
	if err := proto.Unmarshal(b, &resp); err != nil {
		return 0, err
	}
	return len(resp.PodResources), nil
}

// h2 drains the client's preface and first frames, then lets a raw
// HTTP/2 server script its answer.
func h2(c net.Conn) (*http2.Framer, error) {
	if _, err := io.ReadFull(c, make([]byte, len(http2.ClientPreface))); err != nil {
		return nil, err
	}
	fr := http2.NewFramer(c, c)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	if err := fr.WriteSettings(); err != nil {
		return nil, err
	}
	for { // up to the request's END_STREAM
		f, err := fr.ReadFrame()
		if err != nil {
			return nil, err
		}
		if d, ok := f.(*http2.DataFrame); ok && d.StreamEnded() {
			return fr, nil
		}
	}
}

func headers(fr *http2.Framer, end bool, kv ...string) {
	var b bytes.Buffer
	enc := hpack.NewEncoder(&b)
	for i := 0; i+1 < len(kv); i += 2 {
		enc.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
	}
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: b.Bytes(), EndHeaders: true, EndStream: end})
}

// hold keeps a raw server's connection open until the client closes it.
func hold(c net.Conn) { io.Copy(io.Discard, c) }

func TestCallAnswers(t *testing.T) {
	tests := []struct {
		name          string
		pods, nameLen int
	}{
		{"no pods", 0, 0},
		{"two pods", 2, 10},
		// Over the default 64 KiB window: needs the larger window.
		{"answer over 64 KiB", 300, 300},
		// Over our 1 MiB window: needs WINDOW_UPDATEs as it is read.
		{"answer over 1 MiB, several windows", 5000, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := socket(t)
			s := &lister{pods: tt.pods, nameLen: tt.nameLen}
			l := serveGRPC(t, path, s)
			if size := proto.Size(s.response()); tt.pods > 300 && size < 4<<20 {
				t.Fatalf("answer of %d bytes: not over several windows", size)
			}
			n, err := call(path, 10*time.Second, 16<<20)
			if err != nil || n != tt.pods {
				t.Fatalf("got %d pods, %v; want %d", n, err, tt.pods)
			}
			l.closedByClient(t)
		})
	}
}

func TestCallStatusFromServer(t *testing.T) {
	// grpc-message is percent-encoded on the wire: spaces, '%' and
	// non-ASCII must come back as the server wrote them.
	msg := "pod-resources 100% busy: réessayez — 再試行 \t%41 done"
	for c := codes.Canceled; c <= codes.Unauthenticated; c++ {
		t.Run(c.String(), func(t *testing.T) {
			path := socket(t)
			l := serveGRPC(t, path, &lister{err: status.Error(c, msg)})
			_, err := call(path, 10*time.Second, 16<<20)
			if CodeOf(err) != Code(c) || MessageOf(err) != msg {
				t.Fatalf("got %s %q, want %s %q", CodeOf(err), MessageOf(err), c, msg)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, gerr := grpcGo(ctx, path, 16<<20)
			if s := status.Convert(gerr); s.Code() != c || s.Message() != msg || err.Error() != gerr.Error() {
				t.Fatalf("grpc-go: %v; we: %v", gerr, err)
			}
			l.closedByClient(t)
		})
	}
}

func TestCodeNamesAreGRPCs(t *testing.T) {
	for c := uint32(0); c < 20; c++ {
		if got, want := Code(c).String(), codes.Code(c).String(); got != want {
			t.Errorf("code %d: %q, want grpc's %q", c, got, want)
		}
	}
}

// Failures of the transport and of non-gRPC servers: each gets the code
// grpc-go gives it (checked against grpc-go itself), and a message that
// says what happened.
func TestCallFailures(t *testing.T) {
	tests := []struct {
		name       string
		serve      func(t *testing.T, path string) *tracked // nil listener: nothing was accepted
		maxMessage int
		code       Code
		message    string
	}{
		{"no socket", func(t *testing.T, path string) *tracked { return nil }, 16 << 20, Unavailable, "no such file"},
		{"stale socket refuses", func(t *testing.T, path string) *tracked {
			l, err := net.Listen("unix", path)
			if err != nil {
				t.Fatal(err)
			}
			l.(*net.UnixListener).SetUnlinkOnClose(false)
			l.Close()
			return nil
		}, 16 << 20, Unavailable, "connection refused"},
		{"server never answers", func(t *testing.T, path string) *tracked {
			return serveGRPC(t, path, &lister{hang: true})
		}, 16 << 20, DeadlineExceeded, "deadline"},
		{"answer over the message limit", func(t *testing.T, path string) *tracked {
			return serveGRPC(t, path, &lister{pods: 100, nameLen: 100})
		}, 1000, ResourceExhausted, "larger than max"},
		{"server closes after the preface", func(t *testing.T, path string) *tracked {
			return serveEach(t, path, func(c net.Conn) { io.ReadFull(c, make([]byte, len(http2.ClientPreface))) })
		}, 16 << 20, Unavailable, "closed the connection"},
		{"plain-text server", func(t *testing.T, path string) *tracked {
			return serveEach(t, path, func(c net.Conn) {
				io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n\r\nnot here\n")
				hold(c)
			})
		}, 16 << 20, Unavailable, "not an HTTP/2 server"},
		{"HTTP/2 server answers 404", h2c(http.StatusNotFound), 16 << 20, Unimplemented, "404 (Not Found)"},
		{"HTTP/2 server answers 503", h2c(http.StatusServiceUnavailable), 16 << 20, Unavailable, "503 (Service Unavailable)"},
		{"HTTP/2 server answers 200 text", h2c(http.StatusOK), 16 << 20, Unknown, `content-type "text/plain`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := socket(t)
			l := tt.serve(t, path)
			_, err := call(path, 500*time.Millisecond, tt.maxMessage)
			if CodeOf(err) != tt.code || !strings.Contains(err.Error(), tt.message) {
				t.Fatalf("got %v, want %s containing %q", err, tt.code, tt.message)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			if _, gerr := grpcGo(ctx, path, tt.maxMessage); status.Code(gerr) != codes.Code(tt.code) {
				t.Errorf("grpc-go says %v, we say %v", gerr, err)
			}
			if l != nil {
				l.closedByClient(t)
			}
		})
	}
}

// h2c is an HTTP/2 server (x/net/http2's) that is not gRPC, answering
// every request with the status and a text body.
func h2c(code int) func(t *testing.T, path string) *tracked {
	return func(t *testing.T, path string) *tracked {
		s := &http2.Server{}
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(code)
			io.WriteString(w, "no gRPC here\n")
		})
		return serveEach(t, path, func(c net.Conn) { s.ServeConn(c, &http2.ServeConnOpts{Handler: h}) })
	}
}

// Raw HTTP/2 servers script what grpc-go's server does not do on demand:
// GOAWAY, RST_STREAM, PING first, a compressed message, padding,
// CONTINUATION.
func TestCallHTTP2Frames(t *testing.T) {
	ok := []string{":status", "200", "content-type", "application/grpc"}
	okTrailers := []string{"grpc-status", "0"}
	msg := []byte{0, 0, 0, 0, 2, 0x0a, 0x00} // one empty PodResources
	tests := []struct {
		name    string
		script  func(fr *http2.Framer) error
		code    Code
		message string
	}{
		{"GOAWAY before the call", func(fr *http2.Framer) error {
			return fr.WriteGoAway(0, http2.ErrCodeEnhanceYourCalm, []byte("too many pings"))
		}, Unavailable, `GOAWAY ENHANCE_YOUR_CALM "too many pings"`},
		{"GOAWAY after the call, then closed", func(fr *http2.Framer) error {
			if err := fr.WriteGoAway(1, http2.ErrCodeNo, nil); err != nil {
				return err
			}
			return errors.New("close")
		}, Unavailable, "after GOAWAY NO_ERROR"},
		{"RST_STREAM REFUSED_STREAM", func(fr *http2.Framer) error {
			return fr.WriteRSTStream(1, http2.ErrCodeRefusedStream)
		}, Unavailable, "RST_STREAM with error code: REFUSED_STREAM"},
		{"RST_STREAM INTERNAL_ERROR", func(fr *http2.Framer) error {
			return fr.WriteRSTStream(1, http2.ErrCodeInternal)
		}, Internal, "RST_STREAM with error code: INTERNAL_ERROR"},
		{"compressed message", func(fr *http2.Framer) error {
			headers(fr, false, ok...)
			fr.WriteData(1, false, []byte{1, 0, 0, 0, 2, 0x0a, 0x00})
			headers(fr, true, okTrailers...)
			return nil
		}, Internal, "compressed"},
		{"answer without trailers", func(fr *http2.Framer) error {
			headers(fr, false, ok...)
			return fr.WriteData(1, true, msg)
		}, Internal, "without sending trailers"},
		{"OK without a message", func(fr *http2.Framer) error {
			headers(fr, false, ok...)
			headers(fr, true, okTrailers...)
			return nil
		}, Internal, "without one whole response message"},
		{"two messages to a unary call", func(fr *http2.Framer) error {
			headers(fr, false, ok...)
			fr.WriteData(1, false, append(append([]byte{}, msg...), msg...))
			headers(fr, true, okTrailers...)
			return nil
		}, Internal, "more than one response message"},
		{"grpc-status not a number", func(fr *http2.Framer) error {
			headers(fr, true, ":status", "200", "content-type", "application/grpc", "grpc-status", "fine")
			return nil
		}, Unknown, "malformed grpc-status"},
		{"trailers without grpc-status", func(fr *http2.Framer) error {
			headers(fr, false, ok...)
			fr.WriteData(1, false, msg)
			headers(fr, true, "grpc-message", "forgot")
			return nil
		}, Unknown, "missing or malformed grpc-status"},
		{"100 Continue, then the answer", func(fr *http2.Framer) error {
			headers(fr, false, ":status", "100")
			headers(fr, false, ok...)
			fr.WriteData(1, false, msg)
			headers(fr, true, okTrailers...)
			return nil
		}, OK, ""},
		{"Trailers-Only with a status on a 404", func(fr *http2.Framer) error {
			headers(fr, true, ":status", "404", "content-type", "application/grpc", "grpc-status", "5", "grpc-message", "no%20such%ZZ")
			return nil
		}, NotFound, "no such%ZZ"},
		{"PING answered, padding, CONTINUATION: the answer", func(fr *http2.Framer) error {
			data := make([]byte, 8)
			if err := fr.WritePing(false, [8]byte{1, 2, 3}); err != nil {
				return err
			}
			for { // the answer waits for our PING's acknowledgement
				f, err := fr.ReadFrame()
				if err != nil {
					return err
				}
				if p, ok := f.(*http2.PingFrame); ok && p.IsAck() && p.Data == [8]byte{1, 2, 3} {
					break
				}
			}
			var b bytes.Buffer
			enc := hpack.NewEncoder(&b)
			for i := 0; i+1 < len(ok); i += 2 {
				enc.WriteField(hpack.HeaderField{Name: ok[i], Value: ok[i+1]})
			}
			hb := b.Bytes()
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb[:3], PadLength: 4,
				Priority: http2.PriorityParam{Weight: 10}})
			fr.WriteContinuation(1, true, hb[3:])
			fr.WriteDataPadded(1, false, msg[:3], data)
			fr.WriteDataPadded(1, false, msg[3:], nil)
			headers(fr, true, okTrailers...)
			return nil
		}, OK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := socket(t)
			l := serveEach(t, path, func(c net.Conn) {
				fr, err := h2(c)
				if err == nil {
					err = tt.script(fr)
				}
				if err == nil {
					hold(c)
				}
			})
			n, err := call(path, 5*time.Second, 16<<20)
			if CodeOf(err) != tt.code || (err != nil && !strings.Contains(err.Error(), tt.message)) {
				t.Fatalf("got %v, want %s containing %q", err, tt.code, tt.message)
			}
			if tt.code == OK && n != 1 {
				t.Fatalf("got %d pods, want 1", n)
			}
			l.closedByClient(t)
		})
	}
}

// A cancellation without a deadline unblocks the read by closing.
func TestCallCanceled(t *testing.T) {
	path := socket(t)
	l := serveGRPC(t, path, &lister{hang: true})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	_, err := Call(ctx, path, method, nil, 16<<20)
	if CodeOf(err) != Canceled {
		t.Fatalf("got %v, want Canceled", err)
	}
	l.closedByClient(t)
}

func TestRefusalIsECONNREFUSED(t *testing.T) {
	path := socket(t)
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	_, err = Call(context.Background(), path, method, nil, 16<<20)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("got %v, want it to wrap ECONNREFUSED", err)
	}
}

func TestDecodeMessage(t *testing.T) {
	for in, want := range map[string]string{
		"plain":              "plain",
		"a%20b":              "a b",
		"100%25":             "100%",
		"%E2%9C%93 ok":       "✓ ok",
		"bad %zz and %4":     "bad %zz and %4",
		"trailing %":         "trailing %",
		"%+1 is not hex %41": "%+1 is not hex A",
	} {
		if got := DecodeMessage(in); got != want {
			t.Errorf("DecodeMessage(%q) = %q, want %q", in, got, want)
		}
	}
}

// recorded is what the real gRPC server sends for one List call (after
// the client's preface): the fuzz seeds.
func recorded(t testing.TB, s *lister) []byte {
	path := socket(t)
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer()
	podresourcesv1.RegisterPodResourcesListerServer(g, s)
	go g.Serve(l)
	defer g.Stop()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var got bytes.Buffer
	tee := &conn{r: io.TeeReader(c, &got), w: bufio.NewWriter(c)}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	_, err = exchange(tee, method, "", nil, 16<<20)
	if CodeOf(err) == Unavailable {
		t.Fatalf("recording: %v", err)
	}
	return got.Bytes()
}

// FuzzReadResponse: whatever a server sends, the response reader returns
// an answer or an error, never panics, and ends with its input.
func FuzzReadResponse(f *testing.F) {
	f.Add(recorded(f, &lister{pods: 2, nameLen: 5}))
	f.Add(recorded(f, &lister{err: status.Error(codes.PermissionDenied, "100% denied ✓")}))
	f.Add([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		c := &conn{r: bytes.NewReader(in), w: bufio.NewWriter(io.Discard)}
		b, err := readResponse(c, 1<<16)
		if err == nil && len(b) > 1<<16 {
			t.Fatalf("answer of %d bytes over the limit", len(b))
		}
	})
}
