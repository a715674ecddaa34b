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

// ReadDir reads every flow log object under dir (the S3 layout
// <bucket>/.../AWSLogs/{account}/vpcflowlogs/{region}/{yyyy}/{MM}/{dd}/, or
// any tree): gzip or plain text, header line first (else the default
// format). Files are read in path order. Parquet objects are not read yet;
// they are counted in skipped.
func ReadDir(dir string) (recs []flow.Record, skipped []string, err error) {
	var paths []string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		name := d.Name()
		switch {
		case strings.HasSuffix(name, ".log.gz"), strings.HasSuffix(name, ".log"), strings.HasSuffix(name, ".txt"),
			strings.HasSuffix(name, ".gz"):
			paths = append(paths, p)
		case strings.HasSuffix(name, ".parquet"):
			skipped = append(skipped, p)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read flow logs under %s: %w", dir, err)
	}
	slices.Sort(paths)
	for _, p := range paths {
		recs, err = ReadFile(p, recs)
		if err != nil {
			return nil, nil, err
		}
	}
	return recs, skipped, nil
}

// ReadFile appends the records of one text object (gzip or plain) to recs.
// A first line that parses as a header sets the format; else the default
// format is used. Errors name the file and line.
func ReadFile(path string, recs []flow.Record) ([]flow.Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return recs, err
	}
	defer f.Close()
	return readText(f, path, recs)
}

func readText(r io.Reader, name string, recs []flow.Record) ([]flow.Record, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return recs, fmt.Errorf("%s: %w", name, err)
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
				dec = flow.NewDecoder(f)
				continue
			}
			dec = flow.NewDecoder(flow.DefaultFormat)
		}
		var rec flow.Record
		if err := dec.Decode(b, &rec); err != nil {
			return recs, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		recs = append(recs, rec)
	}
	if err := sc.Err(); err != nil {
		return recs, fmt.Errorf("%s:%d: %w", name, line, err)
	}
	return recs, nil
}
