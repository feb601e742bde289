import gi from 'node-gtk';
const Gst = gi.require('Gst', '1.0');
Gst.init(null);
const enc = Gst.ElementFactory.make('x264enc', 'enc');
console.log('keyIntMax' in enc, 'nonexistent' in enc, 'speedPreset' in enc);
try { console.log(enc.getProperty('key-int-max')); } catch (e) { console.log('getProperty err', e.message); }
try { console.log(enc.getProperty('nonexistent')); } catch (e) { console.log('getProperty err2', e.message); }
