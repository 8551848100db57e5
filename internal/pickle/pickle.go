// Package pickle decodes Python pickles (protocols 0-5, the binary opcodes
// torch.save and the pickle module emit) into inert Go values, without ever
// running Python code.
//
// A pickle names callables with GLOBAL and calls them with REDUCE, NEWOBJ
// and BUILD. Here nothing is called unless the [Decoder.Call] hook, which
// the caller writes for the few callables it understands (an allow-list),
// handles it; every other call yields an [Object] that merely records the
// callable, its arguments and its state. A hostile pickle can therefore make
// the decoder allocate at most in proportion to its own size and return odd
// values, but it cannot run code.
//
// Python values map to Go as follows: None is nil, bool is bool, int is
// int64 (larger integers are an error), float is float64, str is string,
// bytes and bytearray are []byte, tuple is [Tuple], list is *[List], dict
// is *[Dict] (insertion-ordered; keys of any type), set and frozenset are
// *[List], and a persistent id is whatever [Decoder.Persistent] returns.
package pickle

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Tuple is a Python tuple.
type Tuple []any

// List is a Python list (also used for set and frozenset).
type List struct{ Items []any }

// Dict is a Python dict (or OrderedDict): its items in insertion order.
// Setting an existing key replaces its value in place.
type Dict struct {
	Keys, Values []any
	// State is what BUILD set on the dict (for example the _metadata
	// attribute of a PyTorch state dict); nil if nothing.
	State any
	index map[string]int // positions of string keys
}

// Get returns the value stored under the string key.
func (d *Dict) Get(key string) (any, bool) {
	if i, ok := d.index[key]; ok {
		return d.Values[i], true
	}
	return nil, false
}

// Len returns the number of items.
func (d *Dict) Len() int { return len(d.Keys) }

// Set stores value under key, replacing an equal existing key (only string,
// integer and boolean keys compare equal; other keys are always appended).
func (d *Dict) Set(key, value any) {
	if s, ok := key.(string); ok {
		if d.index == nil {
			d.index = map[string]int{}
		}
		if i, ok := d.index[s]; ok {
			d.Values[i] = value
			return
		}
		d.index[s] = len(d.Keys)
	} else if isScalarKey(key) {
		for i, k := range d.Keys {
			if k == key {
				d.Values[i] = value
				return
			}
		}
	}
	d.Keys = append(d.Keys, key)
	d.Values = append(d.Values, value)
}

func isScalarKey(k any) bool {
	switch k.(type) {
	case int64, bool, float64, nil:
		return true
	}
	return false
}

// Global is a reference to a Python object by module and name (GLOBAL,
// STACK_GLOBAL). Decoding never resolves it.
type Global struct{ Module, Name string }

func (g Global) String() string { return g.Module + "." + g.Name }

// Object is the inert result of a call the [Decoder.Call] hook did not
// handle: REDUCE (Callable(*Args)), NEWOBJ (cls.__new__(cls, *Args)) or a
// protocol-0 INST/OBJ, with what BUILD later set (State) and any items
// appended or set on it (for list and dict subclasses).
type Object struct {
	Callable any // usually a Global
	Args     Tuple
	Kwargs   any // NEWOBJ_EX only
	State    any
	Items    []any // APPEND(S) on the object
	Dict     *Dict // SETITEM(S) on the object
}

// Class returns the callable as "module.name", or "?" if it is not a Global.
func (o *Object) Class() string {
	if g, ok := o.Callable.(Global); ok {
		return g.String()
	}
	return "?"
}

// Decoder holds the hooks of one decode. The zero value decodes a pickle
// with no persistent ids and calls nothing.
type Decoder struct {
	// Persistent resolves a persistent id (BINPERSID, PERSID). If nil, a
	// pickle with persistent ids is an error.
	Persistent func(pid any) (any, error)
	// Call handles the allow-listed callables: it returns the value of
	// fn(*args) and true, or false to leave the call inert (an *Object).
	// It is called for REDUCE only; NEWOBJ and BUILD are always inert.
	Call func(fn Global, args Tuple) (any, bool, error)
}

// Opcodes.
const (
	opMark           = '('
	opStop           = '.'
	opPop            = '0'
	opPopMark        = '1'
	opDup            = '2'
	opFloat          = 'F'
	opInt            = 'I'
	opBinInt         = 'J'
	opBinInt1        = 'K'
	opLong           = 'L'
	opBinInt2        = 'M'
	opNone           = 'N'
	opPersID         = 'P'
	opBinPersID      = 'Q'
	opReduce         = 'R'
	opString         = 'S'
	opBinString      = 'T'
	opShortBinString = 'U'
	opUnicode        = 'V'
	opBinUnicode     = 'X'
	opAppend         = 'a'
	opBuild          = 'b'
	opGlobal         = 'c'
	opDict           = 'd'
	opEmptyDict      = '}'
	opAppends        = 'e'
	opGet            = 'g'
	opBinGet         = 'h'
	opInst           = 'i'
	opLongBinGet     = 'j'
	opList           = 'l'
	opEmptyList      = ']'
	opObj            = 'o'
	opPut            = 'p'
	opBinPut         = 'q'
	opLongBinPut     = 'r'
	opSetItem        = 's'
	opTuple          = 't'
	opEmptyTuple     = ')'
	opSetItems       = 'u'
	opBinFloat       = 'G'
	opProto          = 0x80
	opNewObj         = 0x81
	opTuple1         = 0x85
	opTuple2         = 0x86
	opTuple3         = 0x87
	opNewTrue        = 0x88
	opNewFalse       = 0x89
	opLong1          = 0x8a
	opLong4          = 0x8b
	opBinBytes       = 'B'
	opShortBinBytes  = 'C'
	opShortBinUni    = 0x8c
	opBinUnicode8    = 0x8d
	opBinBytes8      = 0x8e
	opEmptySet       = 0x8f
	opAddItems       = 0x90
	opFrozenSet      = 0x91
	opNewObjEx       = 0x92
	opStackGlobal    = 0x93
	opMemoize        = 0x94
	opFrame          = 0x95
	opByteArray8     = 0x96
)

// markT is the MARK sentinel on the stack.
type markT struct{}

var mark = &markT{}

// state is one decode in progress.
type state struct {
	*Decoder
	data  []byte
	pos   int
	stack []any
	memo  map[uint64]any
}

// Decode decodes the pickle in data, which must end right after its STOP
// opcode, and returns the top-level value.
func (d *Decoder) Decode(data []byte) (any, error) {
	s := &state{Decoder: d, data: data, memo: map[uint64]any{}}
	v, err := s.run()
	if err != nil {
		return nil, fmt.Errorf("pickle: %w", err)
	}
	if s.pos != len(data) {
		return nil, fmt.Errorf("pickle: %d bytes after STOP", len(data)-s.pos)
	}
	return v, nil
}

// Decode decodes data with no hooks: persistent ids are an error and every
// call is inert.
func Decode(data []byte) (any, error) { return (&Decoder{}).Decode(data) }

var errShort = errors.New("truncated data")

func (s *state) take(n uint64) ([]byte, error) {
	if n > uint64(len(s.data)-s.pos) {
		return nil, fmt.Errorf("opcode at offset %d: %d-byte argument runs past the end: %w", s.pos, n, errShort)
	}
	b := s.data[s.pos : s.pos+int(n)]
	s.pos += int(n)
	return b, nil
}

func (s *state) byte1() (byte, error) {
	b, err := s.take(1)
	if err != nil {
		return 0, err
	}
	return b[0], nil
}

func (s *state) u16() (uint64, error) {
	b, err := s.take(2)
	if err != nil {
		return 0, err
	}
	return uint64(binary.LittleEndian.Uint16(b)), nil
}

func (s *state) u32() (uint64, error) {
	b, err := s.take(4)
	if err != nil {
		return 0, err
	}
	return uint64(binary.LittleEndian.Uint32(b)), nil
}

func (s *state) u64() (uint64, error) {
	b, err := s.take(8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

// line reads up to and excluding the next newline (text opcodes).
func (s *state) line() (string, error) {
	i := bytes.IndexByte(s.data[s.pos:], '\n')
	if i < 0 {
		return "", fmt.Errorf("offset %d: unterminated text argument: %w", s.pos, errShort)
	}
	l := string(s.data[s.pos : s.pos+i])
	s.pos += i + 1
	return l, nil
}

func (s *state) push(v any) { s.stack = append(s.stack, v) }

func (s *state) pop() (any, error) {
	if len(s.stack) == 0 {
		return nil, errors.New("stack underflow")
	}
	v := s.stack[len(s.stack)-1]
	s.stack = s.stack[:len(s.stack)-1]
	if v == mark {
		return nil, errors.New("unexpected MARK")
	}
	return v, nil
}

func (s *state) top() (any, error) {
	if len(s.stack) == 0 {
		return nil, errors.New("stack underflow")
	}
	v := s.stack[len(s.stack)-1]
	if v == mark {
		return nil, errors.New("unexpected MARK")
	}
	return v, nil
}

// popMark pops everything down to the topmost MARK, which it removes, and
// returns the items above it in order.
func (s *state) popMark() ([]any, error) {
	for i := len(s.stack) - 1; i >= 0; i-- {
		if s.stack[i] == mark {
			items := append([]any(nil), s.stack[i+1:]...)
			s.stack = s.stack[:i]
			return items, nil
		}
	}
	return nil, errors.New("no MARK on the stack")
}

func (s *state) run() (any, error) {
	for {
		at := s.pos
		op, err := s.byte1()
		if err != nil {
			return nil, errors.New("no STOP opcode: " + err.Error())
		}
		if op == opStop {
			v, err := s.pop()
			if err != nil {
				return nil, fmt.Errorf("STOP: %v", err)
			}
			return v, nil
		}
		if err := s.step(op); err != nil {
			return nil, fmt.Errorf("opcode %s at offset %d: %w", opName(op), at, err)
		}
	}
}

func opName(op byte) string {
	if op >= 0x20 && op < 0x7f {
		return strconv.QuoteRune(rune(op))
	}
	return fmt.Sprintf("0x%02x", op)
}

// step executes one opcode.
func (s *state) step(op byte) error {
	switch op {
	case opProto:
		v, err := s.byte1()
		if err != nil {
			return err
		}
		if v > 5 {
			return fmt.Errorf("unsupported protocol %d", v)
		}
	case opFrame:
		if _, err := s.u64(); err != nil {
			return err
		}
	case opMark:
		s.push(mark)
	case opPop:
		if len(s.stack) == 0 {
			return errors.New("stack underflow")
		}
		s.stack = s.stack[:len(s.stack)-1]
	case opPopMark:
		_, err := s.popMark()
		return err
	case opDup:
		v, err := s.top()
		if err != nil {
			return err
		}
		s.push(v)

	case opNone:
		s.push(nil)
	case opNewTrue:
		s.push(true)
	case opNewFalse:
		s.push(false)
	case opBinInt:
		v, err := s.u32()
		if err != nil {
			return err
		}
		s.push(int64(int32(uint32(v))))
	case opBinInt1:
		v, err := s.byte1()
		if err != nil {
			return err
		}
		s.push(int64(v))
	case opBinInt2:
		v, err := s.u16()
		if err != nil {
			return err
		}
		s.push(int64(v))
	case opLong1, opLong4:
		var n uint64
		var err error
		if op == opLong1 {
			var b byte
			b, err = s.byte1()
			n = uint64(b)
		} else {
			n, err = s.u32()
			if int32(uint32(n)) < 0 {
				return errors.New("negative byte count")
			}
		}
		if err != nil {
			return err
		}
		b, err := s.take(n)
		if err != nil {
			return err
		}
		v, err := longLE(b)
		if err != nil {
			return err
		}
		s.push(v)
	case opInt, opLong:
		l, err := s.line()
		if err != nil {
			return err
		}
		switch l {
		case "00":
			s.push(false)
			return nil
		case "01":
			s.push(true)
			return nil
		}
		v, err := strconv.ParseInt(strings.TrimSuffix(l, "L"), 10, 64)
		if err != nil {
			return fmt.Errorf("integer %q: %v", l, err)
		}
		s.push(v)
	case opBinFloat:
		b, err := s.take(8)
		if err != nil {
			return err
		}
		s.push(math.Float64frombits(binary.BigEndian.Uint64(b)))
	case opFloat:
		l, err := s.line()
		if err != nil {
			return err
		}
		v, err := strconv.ParseFloat(l, 64)
		if err != nil {
			return fmt.Errorf("float %q: %v", l, err)
		}
		s.push(v)

	case opBinUnicode, opShortBinUni, opBinUnicode8, opBinString, opShortBinString,
		opBinBytes, opShortBinBytes, opBinBytes8, opByteArray8:
		var n uint64
		var err error
		switch op {
		case opShortBinUni, opShortBinString, opShortBinBytes:
			var b byte
			b, err = s.byte1()
			n = uint64(b)
		case opBinUnicode8, opBinBytes8, opByteArray8:
			n, err = s.u64()
		default:
			n, err = s.u32()
			if op == opBinString && int32(uint32(n)) < 0 {
				return errors.New("negative length")
			}
		}
		if err != nil {
			return err
		}
		b, err := s.take(n)
		if err != nil {
			return err
		}
		switch op {
		case opBinBytes, opShortBinBytes, opBinBytes8, opByteArray8:
			s.push(append([]byte(nil), b...))
		default:
			s.push(string(b))
		}
	case opUnicode, opString:
		l, err := s.line()
		if err != nil {
			return err
		}
		if op == opString {
			u, err := strconv.Unquote(pyQuoteToGo(l))
			if err != nil {
				return fmt.Errorf("string literal %.40q: %v", l, err)
			}
			l = u
		} else {
			u, err := rawUnicodeEscape(l)
			if err != nil {
				return err
			}
			l = u
		}
		s.push(l)

	case opEmptyDict:
		s.push(&Dict{})
	case opEmptyList:
		s.push(&List{})
	case opEmptyTuple:
		s.push(Tuple{})
	case opEmptySet:
		s.push(&List{})
	case opTuple:
		items, err := s.popMark()
		if err != nil {
			return err
		}
		s.push(Tuple(items))
	case opTuple1, opTuple2, opTuple3:
		n := int(op-opTuple1) + 1
		t := make(Tuple, n)
		for i := n - 1; i >= 0; i-- {
			v, err := s.pop()
			if err != nil {
				return err
			}
			t[i] = v
		}
		s.push(t)
	case opList, opFrozenSet:
		items, err := s.popMark()
		if err != nil {
			return err
		}
		s.push(&List{Items: items})
	case opDict:
		items, err := s.popMark()
		if err != nil {
			return err
		}
		d := &Dict{}
		if err := setItems(d, items); err != nil {
			return err
		}
		s.push(d)
	case opAppend, opAppends, opAddItems:
		var items []any
		if op == opAppend {
			v, err := s.pop()
			if err != nil {
				return err
			}
			items = []any{v}
		} else {
			var err error
			if items, err = s.popMark(); err != nil {
				return err
			}
		}
		target, err := s.top()
		if err != nil {
			return err
		}
		switch t := target.(type) {
		case *List:
			t.Items = append(t.Items, items...)
		case *Object:
			t.Items = append(t.Items, items...)
		default:
			return fmt.Errorf("cannot append to %s", typeName(target))
		}
	case opSetItem, opSetItems:
		var items []any
		if op == opSetItem {
			v, err := s.pop()
			if err != nil {
				return err
			}
			k, err := s.pop()
			if err != nil {
				return err
			}
			items = []any{k, v}
		} else {
			var err error
			if items, err = s.popMark(); err != nil {
				return err
			}
		}
		target, err := s.top()
		if err != nil {
			return err
		}
		switch t := target.(type) {
		case *Dict:
			return setItems(t, items)
		case *Object:
			if t.Dict == nil {
				t.Dict = &Dict{}
			}
			return setItems(t.Dict, items)
		default:
			return fmt.Errorf("cannot set items on %s", typeName(target))
		}

	case opPut, opBinPut, opLongBinPut, opMemoize:
		var idx uint64
		var err error
		switch op {
		case opPut:
			var l string
			if l, err = s.line(); err == nil {
				idx, err = strconv.ParseUint(l, 10, 32)
			}
		case opBinPut:
			var b byte
			b, err = s.byte1()
			idx = uint64(b)
		case opLongBinPut:
			idx, err = s.u32()
		case opMemoize:
			idx = uint64(len(s.memo))
		}
		if err != nil {
			return err
		}
		v, err := s.top()
		if err != nil {
			return err
		}
		s.memo[idx] = v
	case opGet, opBinGet, opLongBinGet:
		var idx uint64
		var err error
		switch op {
		case opGet:
			var l string
			if l, err = s.line(); err == nil {
				idx, err = strconv.ParseUint(l, 10, 32)
			}
		case opBinGet:
			var b byte
			b, err = s.byte1()
			idx = uint64(b)
		case opLongBinGet:
			idx, err = s.u32()
		}
		if err != nil {
			return err
		}
		v, ok := s.memo[idx]
		if !ok {
			return fmt.Errorf("memo index %d was never stored", idx)
		}
		s.push(v)

	case opGlobal:
		mod, err := s.line()
		if err != nil {
			return err
		}
		name, err := s.line()
		if err != nil {
			return err
		}
		s.push(Global{mod, name})
	case opStackGlobal:
		name, err := s.pop()
		if err != nil {
			return err
		}
		mod, err := s.pop()
		if err != nil {
			return err
		}
		ms, ok1 := mod.(string)
		ns, ok2 := name.(string)
		if !ok1 || !ok2 {
			return fmt.Errorf("module and name must be strings, got %s and %s", typeName(mod), typeName(name))
		}
		s.push(Global{ms, ns})
	case opReduce:
		args, err := s.pop()
		if err != nil {
			return err
		}
		fn, err := s.pop()
		if err != nil {
			return err
		}
		t, ok := args.(Tuple)
		if !ok {
			return fmt.Errorf("arguments are %s, not a tuple", typeName(args))
		}
		if g, ok := fn.(Global); ok {
			if s.Call != nil {
				v, handled, err := s.Call(g, t)
				if err != nil {
					return fmt.Errorf("%s: %w", g, err)
				}
				if handled {
					s.push(v)
					return nil
				}
			}
			if v, ok := builtin(g, t); ok {
				s.push(v)
				return nil
			}
		}
		s.push(&Object{Callable: fn, Args: t})
	case opNewObj:
		args, err := s.pop()
		if err != nil {
			return err
		}
		cls, err := s.pop()
		if err != nil {
			return err
		}
		t, ok := args.(Tuple)
		if !ok {
			return fmt.Errorf("arguments are %s, not a tuple", typeName(args))
		}
		s.push(&Object{Callable: cls, Args: t})
	case opNewObjEx:
		kw, err := s.pop()
		if err != nil {
			return err
		}
		args, err := s.pop()
		if err != nil {
			return err
		}
		cls, err := s.pop()
		if err != nil {
			return err
		}
		t, ok := args.(Tuple)
		if !ok {
			return fmt.Errorf("arguments are %s, not a tuple", typeName(args))
		}
		s.push(&Object{Callable: cls, Args: t, Kwargs: kw})
	case opInst:
		mod, err := s.line()
		if err != nil {
			return err
		}
		name, err := s.line()
		if err != nil {
			return err
		}
		items, err := s.popMark()
		if err != nil {
			return err
		}
		s.push(&Object{Callable: Global{mod, name}, Args: Tuple(items)})
	case opObj:
		items, err := s.popMark()
		if err != nil {
			return err
		}
		if len(items) == 0 {
			return errors.New("no class")
		}
		s.push(&Object{Callable: items[0], Args: Tuple(items[1:])})
	case opBuild:
		st, err := s.pop()
		if err != nil {
			return err
		}
		target, err := s.top()
		if err != nil {
			return err
		}
		switch t := target.(type) {
		case *Object:
			t.State = st
		case *Dict:
			t.State = st
		default:
			// BUILD on a value the Call hook produced (e.g. a tensor with
			// Python attributes): the state is dropped.
		}

	case opPersID, opBinPersID:
		var pid any
		if op == opPersID {
			l, err := s.line()
			if err != nil {
				return err
			}
			pid = l
		} else {
			v, err := s.pop()
			if err != nil {
				return err
			}
			pid = v
		}
		if s.Persistent == nil {
			return errors.New("persistent id without a persistent loader")
		}
		v, err := s.Persistent(pid)
		if err != nil {
			return err
		}
		s.push(v)
	default:
		return errors.New("unsupported opcode")
	}
	return nil
}

// builtin evaluates the few pure data constructors Python's own pickler
// emits for built-in types: _codecs.encode(str, "latin1") (bytes under
// protocols 0-2), set and frozenset of a list (protocols 0-3), and
// bytearray. Anything else stays inert.
func builtin(g Global, args Tuple) (any, bool) {
	switch g.String() {
	case "_codecs.encode":
		if len(args) != 2 {
			return nil, false
		}
		str, ok1 := args[0].(string)
		enc, ok2 := args[1].(string)
		if !ok1 || !ok2 || (enc != "latin1" && enc != "latin-1") {
			return nil, false
		}
		b := make([]byte, 0, len(str))
		for _, r := range str {
			if r > 0xff {
				return nil, false
			}
			b = append(b, byte(r))
		}
		return b, true
	case "builtins.set", "builtins.frozenset", "__builtin__.set", "__builtin__.frozenset":
		if len(args) == 0 {
			return &List{}, true
		}
		if l, ok := args[0].(*List); ok && len(args) == 1 {
			return &List{Items: append([]any(nil), l.Items...)}, true
		}
	case "builtins.bytearray", "__builtin__.bytearray":
		if len(args) == 0 {
			return []byte{}, true
		}
		if b, ok := args[0].([]byte); ok && len(args) == 1 {
			return append([]byte(nil), b...), true
		}
	}
	return nil, false
}

// setItems sets alternating key, value items on d.
func setItems(d *Dict, items []any) error {
	if len(items)%2 != 0 {
		return fmt.Errorf("odd number of items (%d) for a dict", len(items))
	}
	for i := 0; i < len(items); i += 2 {
		d.Set(items[i], items[i+1])
	}
	return nil
}

// longLE decodes a little-endian two's-complement integer of up to 8 bytes.
func longLE(b []byte) (int64, error) {
	if len(b) == 0 {
		return 0, nil
	}
	// Longer encodings are accepted when the extra bytes are sign extension.
	for len(b) > 8 {
		last, prev := b[len(b)-1], b[len(b)-2]
		if !(last == 0 && prev&0x80 == 0) && !(last == 0xff && prev&0x80 != 0) {
			return 0, fmt.Errorf("integer of %d bytes does not fit in 64 bits", len(b))
		}
		b = b[:len(b)-1]
	}
	var u uint64
	for i := len(b) - 1; i >= 0; i-- {
		u = u<<8 | uint64(b[i])
	}
	if b[len(b)-1]&0x80 != 0 && len(b) < 8 {
		u |= ^uint64(0) << (8 * uint(len(b)))
	}
	return int64(u), nil
}

// rawUnicodeEscape decodes Python's raw-unicode-escape encoding (protocol
// 0 UNICODE): bytes are Latin-1 code points, except \uXXXX and \UXXXXXXXX.
func rawUnicodeEscape(l string) (string, error) {
	var sb strings.Builder
	for i := 0; i < len(l); i++ {
		c := l[i]
		if c == '\\' && i+1 < len(l) && (l[i+1] == 'u' || l[i+1] == 'U') {
			n := 4
			if l[i+1] == 'U' {
				n = 8
			}
			if i+2+n > len(l) {
				return "", fmt.Errorf("truncated escape in %.40q", l)
			}
			v, err := strconv.ParseUint(l[i+2:i+2+n], 16, 32)
			if err != nil || v > 0x10ffff {
				return "", fmt.Errorf("bad escape in %.40q", l)
			}
			sb.WriteRune(rune(v))
			i += 1 + n
			continue
		}
		sb.WriteRune(rune(c))
	}
	return sb.String(), nil
}

// pyQuoteToGo turns a protocol-0 STRING literal ('...' or "...") into a Go
// double-quoted literal for strconv.Unquote.
func pyQuoteToGo(l string) string {
	if len(l) >= 2 && l[0] == '\'' && l[len(l)-1] == '\'' {
		inner := l[1 : len(l)-1]
		inner = strings.ReplaceAll(inner, `\'`, `'`)
		inner = strings.ReplaceAll(inner, `"`, `\"`)
		return `"` + inner + `"`
	}
	return l
}

// typeName names the Python type of a decoded value, for messages.
func typeName(v any) string {
	switch t := v.(type) {
	case nil:
		return "None"
	case bool:
		return "bool"
	case int64:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case []byte:
		return "bytes"
	case Tuple:
		return "tuple"
	case *List:
		return "list"
	case *Dict:
		return "dict"
	case Global:
		return "global " + t.String()
	case *Object:
		return t.Class() + " object"
	}
	return fmt.Sprintf("%T", v)
}

// TypeName names the Python type of a decoded value, for error messages.
func TypeName(v any) string { return typeName(v) }
