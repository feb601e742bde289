import test from 'ava';
import { AUDIO_ENCODERS, audioChain, chooseMicrophone, microphoneElements } from '../src/media/audio.ts';
import { specProblems } from '../src/media/pipeline-spec.ts';

test('the microphone is the first capture device, never a loopback monitor; none found, no sound', (t) => {
  const monitor = {
    name: 'Monitor of HDMI',
    factory: 'pulsesrc',
    props: { device: 'hdmi.monitor' },
    deviceClass: 'monitor',
  };
  const usb = { name: 'USB Audio', factory: 'alsasrc', props: { device: 'hw:1' }, deviceClass: 'sound' };
  t.is(chooseMicrophone([monitor, usb]), usb);
  t.is(chooseMicrophone([monitor]), null);
  t.deepEqual(microphoneElements(usb), [{ id: 'src', factory: 'alsasrc', props: { device: 'hw:1' } }]);
});

test('the audio chain ends in the AAC tap and builds as a pipeline (every element linked)', (t) => {
  const chain = audioChain(
    [{ id: 'src', factory: 'alsasrc', props: { device: 'hw:1' } }],
    AUDIO_ENCODERS[1]!,
  );
  t.is(chain.tap, 'audio-tap');
  t.deepEqual(specProblems({ name: 'audio', elements: chain.elements, links: chain.links }), []);
  t.like(
    chain.elements.find((e) => e.id === 'audio-encoder'),
    { factory: 'avenc_aac', props: { bitrate: 64_000 } },
  );
  t.throws(() => audioChain([], AUDIO_ENCODERS[0]!), { instanceOf: RangeError });
});
