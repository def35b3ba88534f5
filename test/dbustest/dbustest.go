// Package dbustest runs a real private dbus-daemon for tests and exports a
// fake org.freedesktop.systemd1 unit object on it with godbus, so that code
// under test speaks the real D-Bus protocol to "systemd".
package dbustest

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/prop"
)

// busConfig is a bus that anyone on this machine may own names on and
// send to, listening at one socket.
const busConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
`

// StartBus runs dbus-daemon listening on socket until the test ends.
func StartBus(t testing.TB, socket string) {
	t.Helper()
	daemon, err := exec.LookPath("dbus-daemon")
	if err != nil {
		t.Fatalf("dbus-daemon not installed (Debian dbus-daemon; scripts/deps.sh installs it): %v", err)
	}
	if err := os.MkdirAll(filepath.Dir(socket), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "bus.conf")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(busConfig, socket)), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(daemon, "--config-file="+cfg, "--nofork", "--nopidfile", "--print-address=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	// The daemon prints its address once it listens.
	if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
		t.Fatalf("dbus-daemon did not start: %v", err)
	}
}

// Unit and Service are the properties of the fake unit's two interfaces,
// with systemd's D-Bus types (uint64 µs timestamps, uint32 NRestarts,
// int32 ExecMainStatus and ExecMainCode).
type Unit struct {
	Name          string
	Unit, Service map[string]any
}

// FakeSystemd owns org.freedesktop.systemd1 on the bus at socket and
// exports the unit's object at the path systemd uses.
func FakeSystemd(t testing.TB, socket string, u Unit) {
	t.Helper()
	conn, err := dbus.Dial("unix:path=" + socket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if err := conn.Auth([]dbus.Auth{dbus.AuthExternal(strconv.Itoa(os.Getuid()))}); err != nil {
		t.Fatal(err)
	}
	if err := conn.Hello(); err != nil {
		t.Fatal(err)
	}
	reply, err := conn.RequestName("org.freedesktop.systemd1", dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("own org.freedesktop.systemd1: %v %v", reply, err)
	}
	props := prop.Map{"org.freedesktop.systemd1.Unit": {}, "org.freedesktop.systemd1.Service": {}}
	for k, v := range u.Unit {
		props["org.freedesktop.systemd1.Unit"][k] = &prop.Prop{Value: v, Emit: prop.EmitFalse}
	}
	for k, v := range u.Service {
		props["org.freedesktop.systemd1.Service"][k] = &prop.Prop{Value: v, Emit: prop.EmitFalse}
	}
	if _, err := prop.Export(conn, UnitPath(u.Name), props); err != nil {
		t.Fatal(err)
	}
}

// UnitPath is systemd's object path of a unit (bus-escaped name).
func UnitPath(name string) dbus.ObjectPath {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' && i > 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "_%02x", c)
		}
	}
	return dbus.ObjectPath("/org/freedesktop/systemd1/unit/" + b.String())
}
