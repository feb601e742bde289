import type { DisplayState } from '../../../firmware/src/api/types.ts';

export type Lang = 'zh' | 'en';

const zh = {
  title: '远程会诊终端',
  carts: '设备',
  dataCentres: '省数据中心',
  studiesToday: '今日检查',
  notices: '提示',
  time: '时间',
  patient: '患者',
  type: '类型',
  state: '状态',
  detail: '说明',
  ecg: '心电图',
  none: '今天还没有检查',
  noNotices: '一切正常',
  home: '主用',
  deliveredCount: (n: number) => `已送达 ${n} 份`,
  disconnected: '与终端服务的连接已断开，正在重新连接…',
  noToken: '缺少访问令牌：请从终端桌面重新打开本页面。',
  queue: (n: number) => (n === 0 ? '没有待发送的检查' : `${n} 份检查等待发送`),
  cartState: {
    searching: '未连接：请检查心电图机电源和数据线',
    opening: '正在连接…',
    connected: '已连接，等待心电图',
    receiving: '正在接收心电图…',
    stopped: '已停止',
  },
  dcState: { unknown: '尚未联系', up: '正常', down: '无法连接，自动重试中' },
  video: '视频',
  videoState: {
    starting: '视频服务正在启动…',
    restarting: '视频服务正在重启…',
    stopped: '视频服务已停止',
    choosing: '正在检测视频编码器…',
    none: '视频不可用：没有可用的编码器，请联系技术人员',
    ready: (encoder: string, hardware: boolean) => `就绪（${hardware ? '硬件编码' : '软件编码'} ${encoder}）`,
    fallback: '硬件编码器出现故障，已改用软件编码，画质可能降低；重启终端后会再试硬件编码',
  },
  noc: '省监控中心',
  nocState: {
    connecting: '正在连接…',
    online: '已连接',
    offline: '未连接：运行状态暂存本机，恢复后补发',
    stopped: '已停止',
  },
  display: { saved: '已保存', sending: '发送中', delivered: '已送达', attention: '需处理' } satisfies Record<
    DisplayState,
    string
  >,
  deliveredTo: (dcs: string) => `已存入数据中心 ${dcs}`,
  attention: {
    'incomplete-transfer': '传输中断，记录不完整（已保存）。请在心电图机上重新发送这份心电图。',
    undecodable: '无法读取心电图机发来的记录（原始数据已保存）。请重新发送；仍不行请联系技术人员。',
    'rejected-by-dc': '省数据中心拒收了这份检查（已保存在本机）。请联系技术人员处理。',
    unknown: '这份检查需要处理（已保存在本机）。请联系技术人员。',
  },
  waitingRetry: (reason: string) => `暂未送达，将自动重试（${reason}）`,
  notice: {
    'cart-problem': '心电图机传输出现问题',
    'capture-refused': '存储空间不足，检查未能保存，请联系技术人员',
    quarantined: '有一份检查无法处理，已隔离保存，请联系技术人员',
    'dc-down': '数据中心暂时无法连接，检查已保存在本机，恢复后自动发送',
    'dc-up': '数据中心连接已恢复',
  } as Record<string, string>,
  language: 'English',
};

const en: typeof zh = {
  title: 'Telemedicine terminal',
  carts: 'Devices',
  dataCentres: 'Province data centres',
  studiesToday: "Today's studies",
  notices: 'Notices',
  time: 'Time',
  patient: 'Patient',
  type: 'Type',
  state: 'State',
  detail: 'Detail',
  ecg: 'ECG',
  none: 'No studies yet today',
  noNotices: 'All is well',
  home: 'home',
  deliveredCount: (n) => `${n} delivered`,
  disconnected: 'Lost contact with the terminal service; reconnecting…',
  noToken: 'Access token missing: open this page again from the terminal desktop.',
  queue: (n) => (n === 0 ? 'Nothing waiting to be sent' : `${n} studies waiting to be sent`),
  cartState: {
    searching: 'Not connected: check the cart is on and its cable plugged in',
    opening: 'Connecting…',
    connected: 'Connected, waiting for an ECG',
    receiving: 'Receiving an ECG…',
    stopped: 'Stopped',
  },
  dcState: { unknown: 'Not contacted yet', up: 'OK', down: 'Unreachable, retrying automatically' },
  video: 'Video',
  videoState: {
    starting: 'Video service starting…',
    restarting: 'Video service restarting…',
    stopped: 'Video service stopped',
    choosing: 'Checking the video encoder…',
    none: 'Video unavailable: no working encoder. Call a technician',
    ready: (encoder, hardware) => `Ready (${hardware ? 'hardware' : 'software'} encoder ${encoder})`,
    fallback:
      'The hardware encoder failed; using software encoding (lower quality) until the terminal restarts',
  },
  noc: 'Province NOC',
  nocState: {
    connecting: 'Connecting…',
    online: 'Connected',
    offline: 'Not connected: status is kept here and sent when the link returns',
    stopped: 'Stopped',
  },
  display: { saved: 'Saved', sending: 'Sending', delivered: 'Delivered', attention: 'Needs attention' },
  deliveredTo: (dcs) => `Stored at data centre ${dcs}`,
  attention: {
    'incomplete-transfer':
      'The transfer was cut off and the record is incomplete (kept). Send this ECG again from the cart.',
    undecodable:
      'The record from the cart cannot be read (original kept). Send it again; if that fails, call a technician.',
    'rejected-by-dc':
      'The province data centre refused this study (kept on the terminal). Call a technician.',
    unknown: 'This study needs attention (kept on the terminal). Call a technician.',
  },
  waitingRetry: (reason) => `Not delivered yet, retrying automatically (${reason})`,
  notice: {
    'cart-problem': 'Problem on the ECG cart link',
    'capture-refused': 'Storage is full: a study could not be saved. Call a technician',
    quarantined: 'A study could not be processed and was set aside. Call a technician',
    'dc-down': 'A data centre is unreachable; studies are kept here and sent when it returns',
    'dc-up': 'Data centre reachable again',
  },
  language: '中文',
};

export const STRINGS: Record<Lang, typeof zh> = { zh, en };
