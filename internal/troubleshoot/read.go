package troubleshoot

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"vpcflow/internal/flow"
)

// Data is what ReadDir found.
type Data struct {
	Records []flow.Record
	// Format is the format of the first object read (header line, or the
	// default format).
	Format flow.Format
	Files  int
	// Skipped lists objects that were not read (Parquet).
	Skipped []string
}

// ReadDir reads every flow log object under dir (the S3 layout
// <bucket>/.../AWSLogs/{account}/vpcflowlogs/{region}/{yyyy}/{MM}/{dd}/, or
// any tree), or dir itself when it is a file: gzip or plain text, header
// line first (else the default format). Files are read in path order.
// Parquet objects are not read yet; they are listed in Skipped.
func ReadDir(dir string) (*Data, error) {
	d := &Data{}
	var paths []string
	err := filepath.WalkDir(dir, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if de.IsDir() {
			return nil
		}
		name := de.Name()
		switch {
		case strings.HasSuffix(name, ".parquet"):
			d.Skipped = append(d.Skipped, p)
		case p == dir, strings.HasSuffix(name, ".gz"), strings.HasSuffix(name, ".log"), strings.HasSuffix(name, ".txt"):
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read flow logs under %s: %w", dir, err)
	}
	slices.Sort(paths)
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("read flow logs: %w", err)
		}
		var format flow.Format
		d.Records, format, err = readText(f, p, d.Records)
		f.Close()
		if err != nil {
			return nil, err
		}
		if d.Files == 0 {
			d.Format = format
		}
		d.Files++
	}
	if d.Format.IsZero() {
		d.Format = flow.DefaultFormat
	}
	return d, nil
}

func readText(r io.Reader, name string, recs []flow.Record) ([]flow.Record, flow.Format, error) {
	format := flow.DefaultFormat
	br := bufio.NewReaderSize(r, 64<<10)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return recs, format, fmt.Errorf("%s: %w", name, err)
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, 64<<10)
	}
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var dec *flow.Decoder
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimRight(sc.Bytes(), "\r")
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		if dec == nil {
			if f, err := flow.ParseHeader(string(b)); err == nil {
				format = f
				dec = flow.NewDecoder(f)
				continue
			}
			dec = flow.NewDecoder(flow.DefaultFormat)
		}
		var rec flow.Record
		if err := dec.Decode(b, &rec); err != nil {
			return recs, format, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		recs = append(recs, rec)
	}
	if err := sc.Err(); err != nil {
		return recs, format, fmt.Errorf("%s:%d: %w", name, line, err)
	}
	return recs, format, nil
}
