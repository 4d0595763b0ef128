package script

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"sync"
)

// The runner protocol: each message is a frame: two 4-byte big-endian
// lengths, of a JSON header and of raw data, then the header and the
// data. A run's input and its returned value, and the payloads of host
// calls, travel as data, as they are: JSON the other side decodes once,
// not JSON quoted inside JSON. The host sends run, reply and cancel, and
// probe between runs; the runner sends hello once, then call, log and
// done, or probed.
const (
	frameHello  = "hello"  // runner → host: ready, the []Layer it applied in Data
	frameRun    = "run"    // host → runner: Run, with its Input in Data
	frameCall   = "call"   // runner → host: a host call (Fn, Data), answered by reply with the same ID
	frameReply  = "reply"  // host → runner: Data, or Error
	frameCancel = "cancel" // host → runner: stop the current run
	frameLog    = "log"    // runner → host: one line of print / pq.log in Text
	frameDone   = "done"   // runner → host: Done, with its Value in Data
	frameProbe  = "probe"  // host → runner: probeRequest in Data (probe.go)
	frameProbed = "probed" // runner → host: []ProbeResult in Data
)

// frame is one protocol message: its header, and Data.
type frame struct {
	Type  string      `json:"t"`
	ID    uint64      `json:"id,omitempty"`
	Fn    string      `json:"fn,omitempty"`
	Text  string      `json:"s,omitempty"`
	Error string      `json:"err,omitempty"`
	Run   *runRequest `json:"run,omitempty"`
	Done  *runOutcome `json:"done,omitempty"`
	Data  []byte      `json:"-"`
}

// runRequest is what a runner needs for one run.
type runRequest struct {
	Hash      string `json:"hash"`
	Program   []byte `json:"program"`
	Entry     string `json:"entry"`
	Input     []byte `json:"-"` // the frame's Data
	MaxSteps  uint64 `json:"max_steps"`
	TimeoutMS int64  `json:"timeout_ms"`
	CPUSecs   int64  `json:"cpu_secs"`
	MaxOutput int    `json:"max_output"`
}

// runOutcome is how a run ended, as the runner saw it.
type runOutcome struct {
	Value   json.RawMessage `json:"-"` // the frame's Data
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
	var size [8]byte
	if _, err := io.ReadFull(fr.r, size[:]); err != nil {
		return nil, err
	}
	h, d := binary.BigEndian.Uint32(size[:4]), binary.BigEndian.Uint32(size[4:])
	if n := int64(h) + int64(d); n > int64(fr.max) {
		return nil, fmt.Errorf("frame of %d bytes exceeds %d", n, fr.max)
	}
	buf := make([]byte, h+d)
	if _, err := io.ReadFull(fr.r, buf); err != nil {
		return nil, err
	}
	f := &frame{}
	if err := json.Unmarshal(buf[:h], f); err != nil {
		return nil, fmt.Errorf("decode frame: %w", err)
	}
	if d > 0 {
		f.Data = buf[h:]
	}
	return f, nil
}

// frameWriter writes frames; safe for concurrent use.
type frameWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (fw *frameWriter) write(f *frame) error {
	head, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("encode frame: %w", err)
	}
	buf := make([]byte, 8, 8+len(head)+len(f.Data))
	binary.BigEndian.PutUint32(buf, uint32(len(head)))
	binary.BigEndian.PutUint32(buf[4:], uint32(len(f.Data)))
	buf = append(append(buf, head...), f.Data...)
	fw.mu.Lock()
	defer fw.mu.Unlock()
	_, err = fw.w.Write(buf)
	return err
}
