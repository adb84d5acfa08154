package e2e

import (
	"bytes"
	"net"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/skmall/skmall/platform/daprtest"
)

// FaultProxy is a TCP proxy between a sidecar and a store that injects the faults production
// meets: latency, connections reset, a black hole, and, for PostgreSQL, a commit that goes
// through while its reply is lost. It reads just enough of the PostgreSQL protocol to see the
// transactions pgx (daprd's driver) runs: BEGIN, COMMIT and ROLLBACK are simple Query messages; a
// statement outside them commits on its own.
//
// The one-shot faults find their write by a marker: bytes the client sends. A marker must be
// in what is written only (a value, such as an order's product), never in a key, which reads
// send too.
type FaultProxy struct {
	t        testing.TB
	Addr     string // where clients connect: 127.0.0.1:port
	upstream string
	ln       net.Listener

	mu       sync.Mutex
	conns    map[*proxyConn]bool
	refuseTo time.Time     // until then new connections are closed at once
	stallTo  time.Time     // until then no byte is forwarded (a black hole)
	latency  time.Duration // added to every chunk
	cut      *cutRule
	delay    *delayRule
	// Cuts and Delays count the one-shot faults that fired.
	Cuts, Delays int
}

// cutRule: the next write that sends marker (a transaction, at its COMMIT; a statement on its
// own, at once) is forwarded and its reply dropped; then every connection is reset and new
// ones refused for down.
type cutRule struct {
	marker []byte
	down   time.Duration
}

// delayRule: the next statement that sends marker reaches the server only after d.
type delayRule struct {
	marker []byte
	d      time.Duration
}

var (
	pgBegin    = []byte("Q\x00\x00\x00\x0abegin\x00")
	pgCommit   = []byte("Q\x00\x00\x00\x0bcommit\x00")
	pgRollback = []byte("Q\x00\x00\x00\x0drollback\x00")
)

// NewFaultProxy listens on a free port and forwards to upstream until the test ends.
func NewFaultProxy(t testing.TB, upstream string) *FaultProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(daprtest.FreePort(t)))
	if err != nil {
		t.Fatal(err)
	}
	p := &FaultProxy{t: t, Addr: ln.Addr().String(), upstream: upstream, ln: ln, conns: map[*proxyConn]bool{}}
	go p.accept()
	t.Cleanup(func() { _ = ln.Close(); p.ResetAll() })
	return p
}

// CutNextCommit arms the lost-reply fault for the next write that sends marker.
func (p *FaultProxy) CutNextCommit(marker string, down time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = &cutRule{marker: []byte(marker), down: down}
}

// DelayNext arms a delay of the next statement that sends marker.
func (p *FaultProxy) DelayNext(marker string, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delay = &delayRule{marker: []byte(marker), d: d}
}

// Refuse resets every connection and refuses new ones for d.
func (p *FaultProxy) Refuse(d time.Duration) {
	p.mu.Lock()
	p.refuseTo = time.Now().Add(d)
	p.mu.Unlock()
	p.ResetAll()
}

// Blackhole forwards nothing, either way, for d: connections stay open and stall.
func (p *FaultProxy) Blackhole(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stallTo = time.Now().Add(d)
}

// Latency adds d to every chunk forwarded (0 removes it).
func (p *FaultProxy) Latency(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.latency = d
}

// ResetAll closes every connection, as a network reset would.
func (p *FaultProxy) ResetAll() {
	p.mu.Lock()
	conns := make([]*proxyConn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
}

func (p *FaultProxy) accept() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		refused := time.Now().Before(p.refuseTo)
		p.mu.Unlock()
		if refused {
			if tc, ok := client.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // a reset, not a polite close
			}
			_ = client.Close()
			continue
		}
		server, err := net.DialTimeout("tcp", p.upstream, 5*time.Second)
		if err != nil {
			_ = client.Close()
			continue
		}
		c := &proxyConn{p: p, client: client, server: server}
		p.mu.Lock()
		p.conns[c] = true
		p.mu.Unlock()
		go c.pipe(client, server, true)
		go c.pipe(server, client, false)
	}
}

// proxyConn is one client connection and its connection to the server.
type proxyConn struct {
	p              *FaultProxy
	client, server net.Conn
	once           sync.Once

	mu       sync.Mutex
	inTx     bool
	marked   bool // the transaction sent the marker of the armed cut
	muteDown bool // the server's replies are dropped
	tail     []byte
}

func (c *proxyConn) close() {
	c.once.Do(func() {
		if tc, ok := c.client.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		_ = c.client.Close()
		_ = c.server.Close()
		c.p.mu.Lock()
		delete(c.p.conns, c)
		c.p.mu.Unlock()
	})
}

func (c *proxyConn) pipe(from, to net.Conn, up bool) {
	defer c.close()
	buf := make([]byte, 64<<10)
	for {
		n, err := from.Read(buf)
		if n > 0 {
			chunk := buf[:n]
			c.wait()
			if up {
				if !c.upstream(to, chunk) {
					return
				}
			} else {
				c.mu.Lock()
				mute := c.muteDown
				c.mu.Unlock()
				if !mute {
					if _, err := to.Write(chunk); err != nil {
						return
					}
				}
			}
		}
		if err != nil {
			return
		}
	}
}

// wait holds a chunk back while the proxy is a black hole, and for the added latency.
func (c *proxyConn) wait() {
	for {
		c.p.mu.Lock()
		stall, lat := time.Until(c.p.stallTo), c.p.latency
		c.p.mu.Unlock()
		if stall <= 0 {
			if lat > 0 {
				time.Sleep(lat)
			}
			return
		}
		time.Sleep(min(stall, 100*time.Millisecond))
	}
}

// upstream forwards a chunk from client to server, applying the armed one-shot faults; it
// reports false when the connection was cut.
func (c *proxyConn) upstream(to net.Conn, chunk []byte) bool {
	c.mu.Lock()
	seen := slices.Concat(c.tail, chunk) // a new slice: c.tail is rewritten from it below
	if bytes.Contains(seen, pgBegin) {
		c.inTx, c.marked = true, false
	}
	c.p.mu.Lock()
	cut, delay := c.p.cut, c.p.delay
	c.p.mu.Unlock()
	var sleep time.Duration
	if delay != nil && bytes.Contains(seen, delay.marker) {
		c.p.mu.Lock()
		if c.p.delay == delay {
			c.p.delay, sleep = nil, delay.d
			c.p.Delays++
		}
		c.p.mu.Unlock()
	}
	if cut != nil && bytes.Contains(seen, cut.marker) {
		c.marked = true
	}
	if bytes.Contains(seen, pgRollback) {
		c.inTx, c.marked = false, false
	}
	cutNow := false
	// A statement outside a transaction commits as it runs: its own chunk is the commit.
	if bytes.Contains(seen, pgCommit) || !c.inTx {
		if c.marked && cut != nil {
			c.p.mu.Lock()
			if c.p.cut == cut {
				c.p.cut, cutNow = nil, true
				c.p.Cuts++
			}
			c.p.mu.Unlock()
		}
		c.inTx, c.marked = false, false
	}
	if cutNow {
		c.muteDown = true
	}
	c.tail = append(c.tail[:0], seen[max(0, len(seen)-32):]...)
	c.mu.Unlock()

	if sleep > 0 {
		time.Sleep(sleep)
	}
	if _, err := to.Write(chunk); err != nil {
		return false
	}
	if cutNow {
		// The commit reaches the server; its reply never reaches the client. Then the store
		// is out of reach for a while, so that asking it afterwards fails too.
		go func() {
			time.Sleep(300 * time.Millisecond)
			c.p.Refuse(cut.down)
		}()
	}
	return true
}
