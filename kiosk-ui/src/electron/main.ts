/**
 * Electron main process of the kiosk: one full-screen window showing the renderer the daemon
 * serves on loopback. Kept thin: no Node in the renderer, navigation locked to the local origin.
 * Configuration comes from the daemon's config file (TELEMED_CONFIG), for the API port and token.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { app, BrowserWindow, session } from 'electron';

interface KioskConfig {
  api: { host?: string; port?: number; token: string };
}

const configPath = process.env['TELEMED_CONFIG'] ?? '/etc/telemed/config.json';
const config = JSON.parse(readFileSync(configPath, 'utf8')) as KioskConfig;
const origin = `http://127.0.0.1:${config.api.port ?? 8470}`;

app.commandLine.appendSwitch('lang', 'zh-CN');

function createWindow(): void {
  const win = new BrowserWindow({
    fullscreen: true,
    kiosk: true,
    autoHideMenuBar: true,
    backgroundColor: '#eef2f6',
    webPreferences: {
      preload: join(import.meta.dirname, 'preload.js'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      additionalArguments: [`--telemed-token=${config.api.token}`],
    },
  });
  // Anything that is not the local kiosk stays out: no navigation, no new windows.
  win.webContents.on('will-navigate', (event, url) => {
    if (!url.startsWith(`${origin}/`)) event.preventDefault();
  });
  win.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));
  win.webContents.on('render-process-gone', () => win.reload());
  void win.loadURL(`${origin}/`);
}

app.whenReady().then(() => {
  session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  createWindow();
});

app.on('window-all-closed', () => app.quit());
