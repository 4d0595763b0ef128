package script

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"sync"
)

// The runner protocol: each message is a frame, a 4-byte big-endian
// length and that many bytes of JSON. The host sends run, reply and
// cancel, and probe between runs; the runner sends hello once, then call,
// log and done, or probed.
const (
	frameHello  = "hello"  // runner → host: ready, the []Layer it applied in Data
	frameRun    = "run"    // host → runner: runRequest in Data
	frameCall   = "call"   // runner → host: a host call (Fn, Data), answered by reply with the same ID
	frameReply  = "reply"  // host → runner: Data, or Error
	frameCancel = "cancel" // host → runner: stop the current run
	frameLog    = "log"    // runner → host: one line of print / pq.log in Text
	frameDone   = "done"   // runner → host: runOutcome in Data
	frameProbe  = "probe"  // host → runner: probeRequest in Data (probe.go)
	frameProbed = "probed" // runner → host: []ProbeResult in Data
)

// frame is one protocol message.
type frame struct {
	Type  string          `json:"t"`
	ID    uint64          `json:"id,omitempty"`
	Fn    string          `json:"fn,omitempty"`
	Text  string          `json:"s,omitempty"`
	Error string          `json:"err,omitempty"`
	Data  json.RawMessage `json:"d,omitempty"`
}

// runRequest is what a runner needs for one run.
type runRequest struct {
	Hash      string          `json:"hash"`
	Program   []byte          `json:"program"`
	Entry     string          `json:"entry"`
	Input     json.RawMessage `json:"input,omitempty"`
	MaxSteps  uint64          `json:"max_steps"`
	TimeoutMS int64           `json:"timeout_ms"`
	CPUSecs   int64           `json:"cpu_secs"`
	MaxOutput int             `json:"max_output"`
}

// runOutcome is how a run ended, as the runner saw it.
type runOutcome struct {
	Value   json.RawMessage `json:"value,omitempty"`
	Failure *Failure        `json:"failure,omitempty"`
	Steps   uint64          `json:"steps"`
	Retire  bool            `json:"retire,omitempty"` // the runner exits after this run (it recovered a panic)
	Tuple   bool            `json:"tuple,omitempty"`  // see Result.Tuple
	Binary  bool            `json:"binary,omitempty"` // see Result.Binary
}

// frameReader reads frames of at most max bytes.
type frameReader struct {
	r   *bufio.Reader
	max int
}

func newFrameReader(r io.Reader, max int) *frameReader {
	return &frameReader{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

func (fr *frameReader) read() (*frame, error) {
	var size [4]byte
	if _, err := io.ReadFull(fr.r, size[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(size[:])
	if int64(n) > int64(fr.max) {
		return nil, fmt.Errorf("frame of %d bytes exceeds %d", n, fr.max)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(fr.r, buf); err != nil {
		return nil, err
	}
	f := &frame{}
	if err := json.Unmarshal(buf, f); err != nil {
		return nil, fmt.Errorf("decode frame: %w", err)
	}
	return f, nil
}

// frameWriter writes frames; safe for concurrent use.
type frameWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (fw *frameWriter) write(f *frame) error {
	body, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("encode frame: %w", err)
	}
	buf := make([]byte, 4+len(body))
	binary.BigEndian.PutUint32(buf, uint32(len(body)))
	copy(buf[4:], body)
	fw.mu.Lock()
	defer fw.mu.Unlock()
	_, err = fw.w.Write(buf)
	return err
}
