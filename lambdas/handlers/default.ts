import { runtimeFromEnvironment } from '../composition-base';
import { routeHandlers } from './route-handlers';

export const handler = routeHandlers(runtimeFromEnvironment).unrouted;
