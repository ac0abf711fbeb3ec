package monitor

import (
	"bufio"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// The Prometheus text exposition format (version 0.0.4), written here
// rather than through the Prometheus client library: the library brings
// protobuf and its registry, about 1.5 MB of code in every rosey binary,
// most of it resident even in a bot that serves no metrics. The tests
// check the output with Prometheus's own parser and linter.

// contentType is the media type of the text format.
const contentType = "text/plain; version=0.0.4; charset=utf-8"

// Metric types, as the # TYPE line writes them.
const (
	typeCounter   = "counter"
	typeGauge     = "gauge"
	typeSummary   = "summary"
	typeHistogram = "histogram"
)

// exposition collects the samples of one scrape, grouped by family.
type exposition struct {
	fams map[string]*family
}

type family struct {
	name, help, typ string
	samples         []line
}

// line is one sample: the family name with suffix (_bucket, _sum,
// _count), the labels as name, value pairs, and the value.
type line struct {
	suffix string
	labels []string
	value  float64
}

func newExposition() *exposition { return &exposition{fams: map[string]*family{}} }

// family returns the family name, declaring it on first use.
func (e *exposition) family(name, typ, help string) *family {
	f, ok := e.fams[name]
	if !ok {
		f = &family{name: name, help: help, typ: typ}
		e.fams[name] = f
	}
	return f
}

// add adds a counter or gauge line; labels are name, value pairs.
func (e *exposition) add(name, typ, help string, v float64, labels ...string) {
	f := e.family(name, typ, help)
	f.samples = append(f.samples, line{labels: labels, value: v})
}

// summary adds a summary without quantiles: how many and their sum.
func (e *exposition) summary(name, help string, count uint64, sum float64, labels ...string) {
	e.quantiles(name, help, nil, count, sum, labels...)
}

// quantiles adds a summary with quantiles, q holding quantile, value
// pairs.
func (e *exposition) quantiles(name, help string, q []float64, count uint64, sum float64, labels ...string) {
	f := e.family(name, typeSummary, help)
	for i := 0; i+1 < len(q); i += 2 {
		f.samples = append(f.samples, line{labels: append(slices.Clip(labels), "quantile", formatFloat(q[i])), value: q[i+1]})
	}
	f.samples = append(f.samples,
		line{suffix: "_sum", labels: labels, value: sum},
		line{suffix: "_count", labels: labels, value: float64(count)})
}

// histogram adds a histogram: counts[i] observations were at most
// bounds[i] and above the bound before; counts has one more, for the rest.
func (e *exposition) histogram(name, help string, bounds []float64, counts []uint64, sum float64, labels ...string) {
	f := e.family(name, typeHistogram, help)
	var total uint64
	for i, c := range counts {
		total += c
		le := math.Inf(1)
		if i < len(bounds) {
			le = bounds[i]
		}
		f.samples = append(f.samples, line{suffix: "_bucket", labels: append(slices.Clip(labels), "le", formatFloat(le)), value: float64(total)})
	}
	f.samples = append(f.samples,
		line{suffix: "_sum", labels: labels, value: sum},
		line{suffix: "_count", labels: labels, value: float64(total)})
}

// sort orders each family's samples by their labels (the le or quantile
// of a histogram's or summary's lines aside: those keep their order), so a
// scrape reads the same as the last one.
func (e *exposition) sort() {
	key := func(s line) string {
		var b strings.Builder
		for i := 0; i+1 < len(s.labels); i += 2 {
			if s.labels[i] == "le" || s.labels[i] == "quantile" {
				continue
			}
			b.WriteString(s.labels[i+1])
			b.WriteByte(0)
		}
		return b.String()
	}
	for _, f := range e.fams {
		slices.SortStableFunc(f.samples, func(a, b line) int { return strings.Compare(key(a), key(b)) })
	}
}

// write writes the families in name order.
func (e *exposition) write(w io.Writer) error {
	names := make([]string, 0, len(e.fams))
	for n := range e.fams {
		names = append(names, n)
	}
	slices.Sort(names)
	bw := bufio.NewWriter(w)
	for _, n := range names {
		f := e.fams[n]
		bw.WriteString("# HELP " + n + " " + helpEscaper.Replace(f.help) + "\n")
		bw.WriteString("# TYPE " + n + " " + f.typ + "\n")
		for _, s := range f.samples {
			bw.WriteString(n + s.suffix)
			if len(s.labels) > 0 {
				bw.WriteByte('{')
				for i := 0; i+1 < len(s.labels); i += 2 {
					if i > 0 {
						bw.WriteByte(',')
					}
					bw.WriteString(s.labels[i] + `="` + labelEscaper.Replace(s.labels[i+1]) + `"`)
				}
				bw.WriteByte('}')
			}
			bw.WriteString(" " + formatFloat(s.value) + "\n")
		}
	}
	return bw.Flush()
}

var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
