package transforms

// jobTitleRule writes a job title, in the letter case of the input: descriptor, area and
// role, "Senior Data Engineer", "Regional Marketing Coordinator".
type jobTitleRule struct {
	subkey []byte
}

var _ TextRule = (*jobTitleRule)(nil)

func newJobTitle(env Env) (Transformer, error) {
	return fakeNewSimple(env, "job_title", func(sk []byte) TextRule { return &jobTitleRule{subkey: sk} })
}

func (r *jobTitleRule) Subkey() []byte { return r.subkey }

func (r *jobTitleRule) Text(k *Keyed, dst, in []byte) ([]byte, error) {
	c := fakeCase(in)
	dst = shapeAppendCase(dst, Pick(k, fakeJobDescriptors), c)
	dst = append(dst, ' ')
	dst = shapeAppendCase(dst, Pick(k, fakeJobLevels), c)
	dst = append(dst, ' ')
	return shapeAppendCase(dst, Pick(k, fakeJobTitles), c), nil
}
