/**
 * causaldsl for JupyterLab 4: highlights `.causal` files and notebook cells
 * that start with the `%%causal` magic.
 *
 * JupyterLab gives every code cell the kernel's language (Python), whatever
 * magic it starts with (jupyterlab#3869, #15324), so the notebook plugin
 * below switches such cells to `text/x-causal` itself and keeps them there.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { IEditorLanguageRegistry } from '@jupyterlab/codemirror';
import { ICellModel } from '@jupyterlab/cells';
import { INotebookTracker, Notebook } from '@jupyterlab/notebook';

import { causal } from './language';

export const MIME = 'text/x-causal';

/** `%%causal` as the first line; IPython skips leading blank lines too. */
const MAGIC = /^\s*%%causal(?![\w-])/;

const language: JupyterFrontEndPlugin<void> = {
  id: 'causaldsl:language',
  description: 'The causaldsl language for CodeMirror, and the .causal file type.',
  autoStart: true,
  requires: [IEditorLanguageRegistry],
  activate: (app: JupyterFrontEnd, languages: IEditorLanguageRegistry) => {
    const support = causal();
    languages.addLanguage({
      name: 'causal',
      displayName: 'causaldsl',
      mime: MIME,
      extensions: ['causal'],
      support,
      load: async () => support
    });
    // The file editor finds the language by extension through the registry
    // above; the file type adds the name in "Open With" and the launcher.
    app.docRegistry.addFileType({
      name: 'causal',
      displayName: 'causaldsl model',
      extensions: ['.causal'],
      mimeTypes: [MIME],
      contentType: 'file',
      fileFormat: 'text'
    });
  }
};

const cells: JupyterFrontEndPlugin<void> = {
  id: 'causaldsl:cells',
  description: 'Highlights %%causal notebook cells as causaldsl.',
  autoStart: true,
  requires: [INotebookTracker, IEditorLanguageRegistry],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    languages: IEditorLanguageRegistry
  ) => {
    // Notebooks restored before this plugin activated are already in the tracker.
    tracker.forEach(panel => watchNotebook(panel.content, languages));
    tracker.widgetAdded.connect((_, panel) => watchNotebook(panel.content, languages));
  }
};

function watchNotebook(notebook: Notebook, languages: IEditorLanguageRegistry): void {
  const watched = new WeakSet<ICellModel>();

  const isCausal = (cell: ICellModel) => MAGIC.test(cell.sharedModel.getSource());

  const sync = (cell: ICellModel) => {
    if (isCausal(cell)) {
      if (cell.mimeType !== MIME) {
        const reset = cell.mimeType;
        cell.mimeType = MIME;
        void settle(cell, reset);
      }
    } else if (cell.mimeType === MIME) {
      // The magic is gone: back to the kernel's language.
      cell.mimeType = notebook.codeMimetype;
    }
  };

  // The notebook resets every code cell's mimeType when the kernel's
  // language_info arrives (and on insertion); the editor then loads that
  // language asynchronously and reconfigures when the load resolves, which
  // can be after our switch back to causal. Once the other language is
  // loaded, switch away and back again: both loads then resolve at once and
  // in order, so causal is applied last.
  let settling = false;
  const settle = async (cell: ICellModel, reset: string) => {
    await languages.getLanguage(reset);
    await new Promise(resolve => setTimeout(resolve, 0));
    if (cell.isDisposed || cell.mimeType !== MIME || settling) {
      return;
    }
    settling = true;
    try {
      cell.mimeType = reset;
      cell.mimeType = MIME;
    } finally {
      settling = false;
    }
  };

  const watch = (cell: ICellModel) => {
    if (cell.type !== 'code' || watched.has(cell)) {
      return;
    }
    watched.add(cell);
    cell.contentChanged.connect(() => sync(cell));
    cell.mimeTypeChanged.connect(() => settling || sync(cell));
    sync(cell);
  };

  const onModel = () => {
    const model = notebook.model;
    if (!model) {
      return;
    }
    for (const cell of model.cells) {
      watch(cell);
    }
    model.cells.changed.connect((_, change) => {
      if (change.type === 'add' || change.type === 'set') {
        change.newValues.forEach(watch);
      }
    });
  };
  notebook.modelChanged.connect(onModel);
  onModel();
}

export default [language, cells];
